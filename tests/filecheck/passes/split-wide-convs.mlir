// RUN: ge-opt %s --split-input-file -p split-wide-convs | filecheck %s

// A 9x9 conv on a 4096-pixel-wide image: nine input rows of 4096 pixels (16 lanes each) do
// not fit L1 for im2col, nor a band of rows UB for direct. Eight strips of 512 output
// columns: each reads its columns and halo (the left padding stays on the first strip, the
// right on the last), keeps the epilogue, and the concat joins them along the width.
// CHECK-LABEL: func.func @wide
// CHECK: %[[X0:.+]] = kernel.slice %x {fused_from = ["ge.conv2d", "ge.relu"], starts = array<i64: 0>, ends = array<i64: 516>, axes = array<i64: 3>, steps = array<i64: 1>}
// CHECK-NEXT: %[[Y0:.+]] = kernel.conv2d %[[X0]], %w bias %b : tensor<16xf32> {strides = array<i64: 1, 1>, pads = array<i64: 4, 4, 4, 0>
// CHECK-SAME: activation = "relu"
// CHECK-SAME: -> tensor<1x16x12x512xf32>
// CHECK-NEXT: %[[X1:.+]] = kernel.slice %x {{.*}}starts = array<i64: 508>, ends = array<i64: 1028>
// CHECK-NEXT: %[[Y1:.+]] = kernel.conv2d %[[X1]], %w bias %b {{.*}}pads = array<i64: 4, 0, 4, 0>
// CHECK-COUNT-5: kernel.conv2d
// CHECK: %[[X7:.+]] = kernel.slice %x {{.*}}starts = array<i64: 3580>, ends = array<i64: 4096>
// CHECK-NEXT: %[[Y7:.+]] = kernel.conv2d %[[X7]], %w bias %b {{.*}}pads = array<i64: 4, 0, 4, 4>
// CHECK-NEXT: %[[Y:.+]] = kernel.concat %[[Y0]], %[[Y1]], {{.*}}, %[[Y7]] {fused_from = ["ge.conv2d", "ge.relu"], axis = 3 : i64}
// CHECK-NEXT: func.return %[[Y]]
func.func @wide(%x: tensor<1x3x12x4096xf32>, %b: tensor<16xf32>) -> tensor<1x16x12x4096xf32> {
  %w = ge.constant dense<0.5> : tensor<16x3x9x9xf32>
  %y = kernel.conv2d %x, %w bias %b : tensor<16xf32> {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 4, 4, 4, 4>, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x3x12x4096xf32>, tensor<16x3x9x9xf32> -> tensor<1x16x12x4096xf32>
  func.return %y : tensor<1x16x12x4096xf32>
}

// -----

// A residual is cut like the output. At a stride of 2, strips of 256 output columns read
// about as many input columns as the stride-1 strips of 512 did.
// CHECK-LABEL: func.func @strided_residual
// CHECK: %[[X0:.+]] = kernel.slice %x {{.*}}starts = array<i64: 0>, ends = array<i64: 515>
// CHECK-NEXT: %[[R0:.+]] = kernel.slice %r {{.*}}starts = array<i64: 0>, ends = array<i64: 256>
// CHECK-NEXT: kernel.conv2d %[[X0]], %w residual %[[R0]] : tensor<1x16x12x256xf32> {strides = array<i64: 1, 2>, pads = array<i64: 4, 4, 4, 0>
// CHECK-NEXT: %[[X1:.+]] = kernel.slice %x {{.*}}starts = array<i64: 508>, ends = array<i64: 1027>
// CHECK-NEXT: %[[R1:.+]] = kernel.slice %r {{.*}}starts = array<i64: 256>, ends = array<i64: 512>
// CHECK: kernel.concat {{.*}}axis = 3 : i64{{.*}} -> tensor<1x16x12x2048xf32>
func.func @strided_residual(%x: tensor<1x3x12x4096xf32>, %r: tensor<1x16x12x2048xf32>) -> tensor<1x16x12x2048xf32> {
  %w = ge.constant dense<0.5> : tensor<16x3x9x9xf32>
  %y = kernel.conv2d %x, %w residual %r : tensor<1x16x12x2048xf32> {strides = array<i64: 1, 2>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 4, 4, 4, 4>, fused_from = ["ge.conv2d", "ge.add"]} : tensor<1x3x12x4096xf32>, tensor<16x3x9x9xf32> -> tensor<1x16x12x2048xf32>
  func.return %y : tensor<1x16x12x2048xf32>
}

// -----

// ResNet-50's 256-channel stride-2 3x3 conv at 800x1344: three input rows of 168 pixels in
// 16 channel slices leave im2col no tile, and the vector unit's direct conv is estimated
// ~4.8e6 cycles; eight strips of 11 output columns fit the cube's tiles (~1e4 cycles each).
// CHECK-LABEL: func.func @deep_strided
// CHECK: kernel.slice %x {{.*}}starts = array<i64: 0>, ends = array<i64: 22>
// CHECK-COUNT-7: kernel.slice %x
// CHECK: kernel.concat {{.*}} -> tensor<1x256x50x84xf32>
func.func @deep_strided(%x: tensor<1x256x100x168xf32>) -> tensor<1x256x50x84xf32> {
  %w = ge.constant dense<0.5> : tensor<256x256x3x3xf32>
  %y = kernel.conv2d %x, %w {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, fused_from = ["ge.conv2d"]} : tensor<1x256x100x168xf32>, tensor<256x256x3x3xf32> -> tensor<1x256x50x84xf32>
  func.return %y : tensor<1x256x50x84xf32>
}

// -----

// Convs that a lowering plans whole, or whose algorithm is chosen, stay whole. (Filters
// above are constants, laid out at compile time, as a model's are; runtime filters, as
// eager mode passes them, are staged through UB and give other strips.)
// CHECK-LABEL: func.func @stay
// CHECK-NOT: kernel.slice
// CHECK: kernel.conv2d %x, %w
// CHECK-NOT: kernel.slice
// CHECK: kernel.conv2d %x1, %w1
// CHECK-NOT: kernel.slice
func.func @stay(%x: tensor<1x16x8x200xf32>, %w: tensor<16x16x3x3xf32>, %x1: tensor<1x3x12x4096xf32>, %w1: tensor<16x3x9x9xf32>) -> (tensor<1x16x8x200xf32>, tensor<1x16x12x4096xf32>) {
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, fused_from = ["ge.conv2d"]} : tensor<1x16x8x200xf32>, tensor<16x16x3x3xf32> -> tensor<1x16x8x200xf32>
  %y1 = kernel.conv2d %x1, %w1 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 4, 4, 4, 4>, algorithm = "fft", fused_from = ["ge.conv2d"]} : tensor<1x3x12x4096xf32>, tensor<16x3x9x9xf32> -> tensor<1x16x12x4096xf32>
  func.return %y, %y1 : tensor<1x16x8x200xf32>, tensor<1x16x12x4096xf32>
}

// -----

// A UNet's 2x2 stride-2 upsampling to 512x512: a phase image of 256x256 f32 fills UB
// (col2im) and the zero-inserted rows L1 (zeros), so no route fits it whole. Strips of
// output columns, each from the input columns that reach it: 16 of 32 columns (16 input
// columns each; the taps do not overlap, so no halo and no padding).
// CHECK-LABEL: func.func @transposed
// CHECK: %[[X0:.+]] = kernel.slice %x {fused_from = ["ge.conv_transpose2d"], starts = array<i64: 0>, ends = array<i64: 16>, axes = array<i64: 3>, steps = array<i64: 1>}
// CHECK-NEXT: %[[Y0:.+]] = kernel.conv_transpose2d %[[X0]], %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, {{.*}}output_padding = array<i64: 0, 0>{{.*}} -> tensor<1x32x512x32xf32>
// CHECK-NEXT: kernel.slice %x {{.*}}starts = array<i64: 16>, ends = array<i64: 32>
// CHECK-COUNT-14: kernel.conv_transpose2d
// CHECK: kernel.concat %[[Y0]], {{.*}}axis = 3 : i64{{.*}} -> tensor<1x32x512x512xf32>
func.func @transposed(%x: tensor<1x64x256x256xf32>, %b: tensor<32xf32>) -> tensor<1x32x512x512xf32> {
  %w = ge.constant dense<0.5> : tensor<64x32x2x2xf32>
  %y = kernel.conv_transpose2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64, fused_from = ["ge.conv_transpose2d"]} : (tensor<1x64x256x256xf32>, tensor<64x32x2x2xf32>, tensor<32xf32>) -> tensor<1x32x512x512xf32>
  func.return %y : tensor<1x32x512x512xf32>
}

// -----

// Overlapping taps (4x4, stride 2, padding 1): the strips' boundaries lie on the stride's
// grid (a + 1 even), so each middle strip reads one input column of halo on either side
// with a left and right padding of 2 (a left padding at most dilation x (kernel - 1), as
// the zero-insertion route needs); the first keeps the conv's own left padding.
// CHECK-LABEL: func.func @transposed_overlapping
// CHECK: kernel.slice %x {{.*}}starts = array<i64: 0>, ends = array<i64: 64>
// CHECK-NEXT: kernel.conv_transpose2d {{.*}}pads = array<i64: 1, 1, 1, 2>{{.*}} -> tensor<1x32x128x127xf32>
// CHECK-NEXT: kernel.slice %x {{.*}}starts = array<i64: 63>, ends = array<i64: 128>
// CHECK-NEXT: kernel.conv_transpose2d {{.*}}pads = array<i64: 1, 2, 1, 2>{{.*}} -> tensor<1x32x128x128xf32>
// CHECK: kernel.slice %x {{.*}}starts = array<i64: 959>, ends = array<i64: 1024>
// CHECK-NEXT: kernel.conv_transpose2d {{.*}}pads = array<i64: 1, 2, 1, 1>{{.*}} -> tensor<1x32x128x129xf32>
// CHECK-NEXT: kernel.concat {{.*}} -> tensor<1x32x128x2048xf32>
func.func @transposed_overlapping(%x: tensor<1x64x64x1024xf32>) -> tensor<1x32x128x2048xf32> {
  %w = ge.constant dense<0.5> : tensor<64x32x4x4xf32>
  %y = kernel.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64, fused_from = ["ge.conv_transpose2d"]} : (tensor<1x64x64x1024xf32>, tensor<64x32x4x4xf32>) -> tensor<1x32x128x2048xf32>
  func.return %y : tensor<1x32x128x2048xf32>
}
