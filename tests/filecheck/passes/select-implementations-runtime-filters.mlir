// RUN: ge-opt %s --split-input-file -p turn-1d-convs,select-implementations | filecheck %s

// A DFT as a Conv1d (nnAudio-style, 400-tap filters), turned along the height. Its filters
// as a runtime argument, as eager mode passes every weight: im2col stages them through UB,
// whose one stage does not hold a channel tile's 400 taps, so they come in parts
// (`conv_tiling.staged_taps`) and im2col is a candidate with its own estimate (first this
// conv's im2col was chosen with a constant's estimate and refused by its lowering, then it
// was no candidate at all).
// CHECK-LABEL: func.func @runtime_filters
// CHECK: kernel.conv2d {{.*}}ge.costs = {im2col = {{.*}}algorithm = "im2col"
func.func @runtime_filters(%x: tensor<2x1x1x3600xf32>, %w: tensor<66x1x1x400xf32>) -> tensor<2x66x1x21xf32> {
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 160>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 0, 0, 0, 0>, fused_from = ["ge.conv2d"]} : tensor<2x1x1x3600xf32>, tensor<66x1x1x400xf32> -> tensor<2x66x1x21xf32>
  func.return %y : tensor<2x66x1x21xf32>
}

// -----

// The same filters as a constant, laid out at compile time: im2col.
// CHECK-LABEL: func.func @constant_filters
// CHECK: kernel.conv2d {{.*}}ge.costs = {im2col = {{.*}}algorithm = "im2col"
func.func @constant_filters(%x: tensor<2x1x1x3600xf32>) -> tensor<2x66x1x21xf32> {
  %w = ge.constant dense<0.5> : tensor<66x1x1x400xf32>
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 160>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 0, 0, 0, 0>, fused_from = ["ge.conv2d"]} : tensor<2x1x1x3600xf32>, tensor<66x1x1x400xf32> -> tensor<2x66x1x21xf32>
  func.return %y : tensor<2x66x1x21xf32>
}
