// RUN: ge-opt %s --split-input-file --elide-constants-larger-than 100 -p turn-1d-convs | filecheck %s

// wav2vec2's first conv over 16,000 samples: its one row filled L1 (FFT was its only
// candidate). Along the height, rows are single samples: the input and output are seen
// through reshapes that move no data, the constant filters are reshaped at compile time
// (the original is dead and goes), the stride and padding move to the height.
// CHECK-LABEL: func.func @waveform
// CHECK-NOT: tensor<8x1x1x10xf32>
// CHECK: %[[X:.+]] = kernel.reshape %x {fused_from = ["ge.conv2d"], shape = array<i64: 1, 1, 16000, 1>}
// CHECK-NEXT: %[[W:.+]] = ge.constant dense<5.000000e-01> : tensor<8x1x10x1xf32>
// CHECK-NEXT: %[[Y:.+]] = kernel.conv2d %[[X]], %[[W]] {strides = array<i64: 5, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x1x16000x1xf32>, tensor<8x1x10x1xf32> -> tensor<1x8x3199x1xf32>
// CHECK-NEXT: %[[R:.+]] = kernel.reshape %[[Y]] {fused_from = ["ge.conv2d"], shape = array<i64: 1, 8, 1, 3199>}
// CHECK-NEXT: func.return %[[R]]
func.func @waveform(%x: tensor<1x1x1x16000xf32>) -> tensor<1x8x1x3199xf32> {
  %w = ge.constant dense<0.5> : tensor<8x1x1x10xf32>
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 5>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 0, 0, 0, 0>, fused_from = ["ge.conv2d"]} : tensor<1x1x1x16000xf32>, tensor<8x1x1x10xf32> -> tensor<1x8x1x3199xf32>
  func.return %y : tensor<1x8x1x3199xf32>
}

// -----

// A Conv1d block that fits either way is turned where the model estimates it cheaper
// (256 -> 256, kernel 3 over 500 frames: ~6,200 -> ~2,800 cycles): runtime filters and the
// residual through reshapes, the per-channel bias as it is, the padding and dilation
// moved to the height.
// CHECK-LABEL: func.func @block
// CHECK-DAG: %[[X:.+]] = kernel.reshape %x {{.*}} -> tensor<1x256x500x1xf32>
// CHECK-DAG: %[[W:.+]] = kernel.reshape %w {{.*}} -> tensor<256x256x3x1xf32>
// CHECK-DAG: %[[S:.+]] = kernel.reshape %r {{.*}} -> tensor<1x256x500x1xf32>
// CHECK: kernel.conv2d %[[X]], %[[W]] bias %b : tensor<256xf32> residual %[[S]] : tensor<1x256x500x1xf32>
// CHECK-SAME: strides = array<i64: 1, 1>, pads = array<i64: 2, 0, 2, 0>, dilations = array<i64: 2, 1>
// CHECK-SAME: activation = "relu"
// CHECK-NEXT: kernel.reshape {{.*}} -> tensor<1x256x1x500xf32>
func.func @block(%x: tensor<1x256x1x500xf32>, %w: tensor<256x256x1x3xf32>, %b: tensor<256xf32>, %r: tensor<1x256x1x500xf32>) -> tensor<1x256x1x500xf32> {
  %y = kernel.conv2d %x, %w bias %b : tensor<256xf32> residual %r : tensor<1x256x1x500xf32> {strides = array<i64: 1, 1>, dilations = array<i64: 1, 2>, groups = 1 : i64, pads = array<i64: 0, 2, 0, 2>, activation = "relu", fused_from = ["ge.conv2d", "ge.relu", "ge.add"]} : tensor<1x256x1x500xf32>, tensor<256x256x1x3xf32> -> tensor<1x256x1x500xf32>
  func.return %y : tensor<1x256x1x500xf32>
}

// -----

// A 2-D conv, a 1-D one whose algorithm is already chosen, and one over a single column
// stay as they are.
// CHECK-LABEL: func.func @stay
// CHECK-NOT: kernel.reshape
// CHECK: kernel.conv2d %x, %w {{.*}} -> tensor<1x8x3x500xf32>
// CHECK-NOT: kernel.reshape
// CHECK: kernel.conv2d %x1, %w1 {{.*}}algorithm = "im2col"{{.*}} -> tensor<1x8x1x500xf32>
// CHECK-NOT: kernel.reshape
// CHECK: kernel.conv2d %x2, %w2 {{.*}} -> tensor<1x8x1x1xf32>
// CHECK-NOT: kernel.reshape
func.func @stay(%x: tensor<1x8x3x500xf32>, %w: tensor<8x8x3x3xf32>, %x1: tensor<1x8x1x500xf32>, %w1: tensor<8x8x1x3xf32>, %x2: tensor<1x8x1x1xf32>, %w2: tensor<8x8x1x1xf32>) -> (tensor<1x8x3x500xf32>, tensor<1x8x1x500xf32>, tensor<1x8x1x1xf32>) {
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, fused_from = ["ge.conv2d"]} : tensor<1x8x3x500xf32>, tensor<8x8x3x3xf32> -> tensor<1x8x3x500xf32>
  %y1 = kernel.conv2d %x1, %w1 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 0, 1, 0, 1>, algorithm = "im2col", fused_from = ["ge.conv2d"]} : tensor<1x8x1x500xf32>, tensor<8x8x1x3xf32> -> tensor<1x8x1x500xf32>
  %y2 = kernel.conv2d %x2, %w2 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 0, 0, 0, 0>, fused_from = ["ge.conv2d"]} : tensor<1x8x1x1xf32>, tensor<8x8x1x1xf32> -> tensor<1x8x1x1xf32>
  func.return %y, %y1, %y2 : tensor<1x8x3x500xf32>, tensor<1x8x1x500xf32>, tensor<1x8x1x1xf32>
}

// -----

// A ConvTranspose1d (Conv-TasNet's decoder: 64 -> 1, kernel 16, stride 8, 3,999 frames): its
// zero-inserted row of 31,992 samples fits no route; turned, stride, padding and output
// padding move to the height.
// CHECK-LABEL: func.func @decoder
// CHECK: %[[X:.+]] = kernel.reshape %x {{.*}} -> tensor<1x64x3999x1xf32>
// CHECK-NEXT: %[[W:.+]] = ge.constant {{.*}} : tensor<64x1x16x1xf32>
// CHECK-NEXT: %[[Y:.+]] = kernel.conv_transpose2d %[[X]], %[[W]], %b {{.*}}strides = array<i64: 8, 1>, pads = array<i64: 4, 0, 4, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 1, 0>
// CHECK-SAME: -> tensor<1x1x31993x1xf32>
// CHECK-NEXT: kernel.reshape %[[Y]] {{.*}} -> tensor<1x1x1x31993xf32>
func.func @decoder(%x: tensor<1x64x1x3999xf32>, %b: tensor<1xf32>) -> tensor<1x1x1x31993xf32> {
  %w = ge.constant dense<0.5> : tensor<64x1x1x16xf32>
  %y = kernel.conv_transpose2d %x, %w, %b {strides = array<i64: 1, 8>, pads = array<i64: 0, 4, 0, 4>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 1>, groups = 1 : i64, fused_from = ["ge.conv_transpose2d"]} : (tensor<1x64x1x3999xf32>, tensor<64x1x1x16xf32>, tensor<1xf32>) -> tensor<1x1x1x31993xf32>
  func.return %y : tensor<1x1x1x31993xf32>
}
