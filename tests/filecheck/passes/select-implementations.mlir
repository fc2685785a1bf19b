// RUN: ge-opt %s --split-input-file -p 'convert-ge-to-kernel,select-implementations' | filecheck %s
// RUN: not ge-opt %s --split-input-file -p 'convert-ge-to-kernel,select-implementations{conv-algorithm=winograd_2x2}' 2>&1 | filecheck %s --check-prefix=FORCED

// A 1x1 convolution is already a GEMM: im2col (no unfolding at all) on the cube.
// CHECK-LABEL: func.func @conv1x1
// CHECK: kernel.conv2d {{.*}}ge.costs = {im2col = {{.*}}algorithm = "im2col"
func.func @conv1x1(%x: tensor<1x256x14x14xf32>, %w: tensor<1024x256x1x1xf32>) -> tensor<1x1024x14x14xf32> {
  %0 = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x256x14x14xf32>, tensor<1024x256x1x1xf32>) -> tensor<1x1024x14x14xf32>
  func.return %0 : tensor<1x1024x14x14xf32>
}

// -----

// 3x3, stride 1, many channels: a cube algorithm (im2col or Winograd), never direct or FFT.
// CHECK-LABEL: func.func @conv3x3_many_channels
// CHECK: kernel.conv2d {{.*}}algorithm = "{{im2col|winograd_2x2|winograd_4x4}}"
func.func @conv3x3_many_channels(%x: tensor<8x128x28x28xf32>, %w: tensor<128x128x3x3xf32>) -> tensor<8x128x28x28xf32> {
  %0 = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<8x128x28x28xf32>, tensor<128x128x3x3xf32>) -> tensor<8x128x28x28xf32>
  func.return %0 : tensor<8x128x28x28xf32>
}

// -----

// Depthwise: the cube would fill one column in 16 of every output fractal; the vector unit wins.
// CHECK-LABEL: func.func @depthwise
// CHECK: kernel.conv2d {{.*}}algorithm = "direct"
func.func @depthwise(%x: tensor<1x144x56x56xf32>, %w: tensor<144x1x3x3xf32>) -> tensor<1x144x56x56xf32> {
  %0 = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 144 : i64} : (tensor<1x144x56x56xf32>, tensor<144x1x3x3xf32>) -> tensor<1x144x56x56xf32>
  func.return %0 : tensor<1x144x56x56xf32>
}

// -----

// A 31x31 kernel: the DFT products on the cube beat 961 taps of im2col.
// CHECK-LABEL: func.func @large_kernel
// CHECK: kernel.conv2d {{.*}}algorithm = "fft"
// FORCED: error: {{.*}}'winograd_2x2' cannot run kernel.conv2d 31x31
func.func @large_kernel(%x: tensor<1x64x64x64xf32>, %w: tensor<64x64x31x31xf32>) -> tensor<1x64x64x64xf32> {
  %0 = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 15, 15, 15, 15>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x64x64x64xf32>, tensor<64x64x31x31xf32>) -> tensor<1x64x64x64xf32>
  func.return %0 : tensor<1x64x64x64xf32>
}

// -----

// The same conv as integer arithmetic (a quantized conv: an int8 input cast to f32, an
// integral weight) keeps to the algorithms that sum directly: FFT's transforms would round
// its integers (`passes.integer_values`). Neither plans this shape, so none is costed and
// im2col, which accepts the geometry, is named: its lowering refuses the kernel, and the
// npu level runs it by reference, exactly.
// CHECK-LABEL: func.func @integer_large_kernel
// CHECK: kernel.conv2d {{.*}}ge.costs = {}
// CHECK-SAME: algorithm = "im2col"
func.func @integer_large_kernel(%q: tensor<1x64x64x64xi8>) -> tensor<1x64x64x64xf32> {
  %x = ge.cast %q {to = f32} : (tensor<1x64x64x64xi8>) -> tensor<1x64x64x64xf32>
  %w = ge.constant dense<2.0> : tensor<64x64x31x31xf32>
  %0 = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 15, 15, 15, 15>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x64x64x64xf32>, tensor<64x64x31x31xf32>) -> tensor<1x64x64x64xf32>
  func.return %0 : tensor<1x64x64x64xf32>
}
