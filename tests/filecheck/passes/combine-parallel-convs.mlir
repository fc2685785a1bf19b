// RUN: ge-opt %s --split-input-file -p combine-parallel-convs,dce | filecheck %s

// GoogLeNet's inception block: three 1x1 convs of one input (bias, relu) become one conv
// over the concatenated output channels, split back along channels (a batch of one: the
// pieces are contiguous, a view of the conv's result).
// CHECK-LABEL: func.func @inception_1x1s
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x5x5xf32>)
// CHECK-NEXT: %[[W:.+]] = ge.constant {{.+}} : tensor<14x8x1x1xf32>
// CHECK-NEXT: %[[B:.+]] = ge.constant {{.+}} : tensor<14xf32>
// CHECK-NEXT: %[[Y:.+]] = kernel.conv2d %[[X]], %[[W]] bias %[[B]] : tensor<14xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.relu", "ge.conv2d", "ge.relu", "ge.conv2d", "ge.relu"]{{.*}}activation = "relu"{{.*}}} : tensor<1x8x5x5xf32>, tensor<14x8x1x1xf32> -> tensor<1x14x5x5xf32>
// CHECK-NEXT: %[[A:.+]], %[[C:.+]], %[[D:.+]] = kernel.split %[[Y]] {fused_from = ["ge.split"], axis = 1 : i64, sizes = array<i64: 4, 6, 4>} : (tensor<1x14x5x5xf32>) -> (tensor<1x4x5x5xf32>, tensor<1x6x5x5xf32>, tensor<1x4x5x5xf32>)
// CHECK-NEXT: func.return %[[A]], %[[C]], %[[D]]
func.func @inception_1x1s(%x: tensor<1x8x5x5xf32>) -> (tensor<1x4x5x5xf32>, tensor<1x6x5x5xf32>, tensor<1x4x5x5xf32>) {
  %w0 = ge.constant dense<0.1> : tensor<4x8x1x1xf32>
  %w1 = ge.constant dense<0.2> : tensor<6x8x1x1xf32>
  %w2 = ge.constant dense<0.3> : tensor<4x8x1x1xf32>
  %b0 = ge.constant dense<1.0> : tensor<4xf32>
  %b1 = ge.constant dense<2.0> : tensor<6xf32>
  %b2 = ge.constant dense<3.0> : tensor<4xf32>
  %y0 = kernel.conv2d %x, %w0 bias %b0 : tensor<4xf32> {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x8x5x5xf32>, tensor<4x8x1x1xf32> -> tensor<1x4x5x5xf32>
  %y1 = kernel.conv2d %x, %w1 bias %b1 : tensor<6xf32> {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x8x5x5xf32>, tensor<6x8x1x1xf32> -> tensor<1x6x5x5xf32>
  %y2 = kernel.conv2d %x, %w2 bias %b2 : tensor<4xf32> {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x8x5x5xf32>, tensor<4x8x1x1xf32> -> tensor<1x4x5x5xf32>
  func.return %y0, %y1, %y2 : tensor<1x4x5x5xf32>, tensor<1x6x5x5xf32>, tensor<1x4x5x5xf32>
}

// -----

// What stays apart: another kernel size (the inception's 3x3 beside its 1x1), other
// strides, a batch of two (the channel pieces would be strided: a copy), groups.
// CHECK-LABEL: func.func @kept_apart
// CHECK-NOT: kernel.split
// CHECK: func.return
func.func @kept_apart(%x: tensor<1x8x5x5xf32>, %z: tensor<2x8x5x5xf32>) -> (tensor<1x4x5x5xf32>, tensor<1x4x5x5xf32>, tensor<1x4x3x3xf32>, tensor<2x4x5x5xf32>, tensor<2x4x5x5xf32>, tensor<1x8x5x5xf32>, tensor<1x8x5x5xf32>) {
  %w0 = ge.constant dense<0.1> : tensor<4x8x1x1xf32>
  %w1 = ge.constant dense<0.2> : tensor<4x8x3x3xf32>
  %w2 = ge.constant dense<0.3> : tensor<4x8x1x1xf32>
  %w3 = ge.constant dense<0.4> : tensor<4x8x1x1xf32>
  %w4 = ge.constant dense<0.5> : tensor<4x8x1x1xf32>
  %w5 = ge.constant dense<0.6> : tensor<8x4x1x1xf32>
  %w6 = ge.constant dense<0.7> : tensor<8x4x1x1xf32>
  %a = kernel.conv2d %x, %w0 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x8x5x5xf32>, tensor<4x8x1x1xf32> -> tensor<1x4x5x5xf32>
  %b = kernel.conv2d %x, %w1 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x8x5x5xf32>, tensor<4x8x3x3xf32> -> tensor<1x4x5x5xf32>
  %c = kernel.conv2d %x, %w2 {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x8x5x5xf32>, tensor<4x8x1x1xf32> -> tensor<1x4x3x3xf32>
  %d = kernel.conv2d %z, %w3 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<2x8x5x5xf32>, tensor<4x8x1x1xf32> -> tensor<2x4x5x5xf32>
  %e = kernel.conv2d %z, %w4 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<2x8x5x5xf32>, tensor<4x8x1x1xf32> -> tensor<2x4x5x5xf32>
  %f = kernel.conv2d %x, %w5 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64, fused_from = ["ge.conv2d"]} : tensor<1x8x5x5xf32>, tensor<8x4x1x1xf32> -> tensor<1x8x5x5xf32>
  %g = kernel.conv2d %x, %w6 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64, fused_from = ["ge.conv2d"]} : tensor<1x8x5x5xf32>, tensor<8x4x1x1xf32> -> tensor<1x8x5x5xf32>
  func.return %a, %b, %c, %d, %e, %f, %g : tensor<1x4x5x5xf32>, tensor<1x4x5x5xf32>, tensor<1x4x3x3xf32>, tensor<2x4x5x5xf32>, tensor<2x4x5x5xf32>, tensor<1x8x5x5xf32>, tensor<1x8x5x5xf32>
}
