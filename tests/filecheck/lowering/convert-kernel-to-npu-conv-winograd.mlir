// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// Winograd F(2x2, 3x3) with runtime weights: a vector kernel transforms the weights
// (U = G g G^T, 16 positions), a vector kernel the input tiles (V = B^T d B: a band of rows
// loaded padded, split by tile, shifted views copied out), the cube multiplies the 16
// positions as a batched GEMM, and a vector kernel transforms back (Y = A^T M A), assembles
// the tiles into (channels, pixels) and runs the epilogue.
func.func @runtime_weights(%x: tensor<1x8x9x9xf32>, %w: tensor<8x8x3x3xf32>, %b: tensor<8xf32>) -> tensor<1x8x9x9xf32> {
  %y = kernel.conv2d %x, %w bias %b : tensor<8xf32> {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "winograd_2x2", activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x8x9x9xf32>, tensor<8x8x3x3xf32> -> tensor<1x8x9x9xf32>
  func.return %y : tensor<1x8x9x9xf32>
}

// CHECK-LABEL: func.func @runtime_weights
// CHECK:         %[[U:.*]] = npu.hbm_alloc : !npu.buffer<16x64xf32, hbm>
// CHECK:         %[[TAPS:.*]] = npu.reshape %w : !npu.buffer<8x8x3x3xf32, hbm> -> !npu.buffer<64x9xf32, hbm>
// CHECK:         npu.kernel "conv2d_0_weights" {{.*}}algorithm = "winograd_2x2"
// CHECK:           scf.for
// CHECK:             npu.dma %[[TAPS]]
// CHECK:             npu.vec_
// CHECK:             npu.dma {{.*}} -> %[[U]]
// CHECK:         %[[UV:.*]] = npu.reshape %[[U]] : !npu.buffer<16x64xf32, hbm> -> !npu.buffer<16x8x8xf32, hbm>
// CHECK:         %[[V:.*]] = npu.hbm_alloc : !npu.buffer<16x8x25xf32, hbm>
// CHECK:         npu.kernel "conv2d_0_input"
// CHECK:           %[[BAND:.*]] = npu.alloc : !npu.buffer<1x8x4x12xf32, ub>
// CHECK:           %[[SPLIT:.*]] = npu.alloc : !npu.buffer<8x2x2x6x2xf32, ub>
// CHECK:           npu.vec_dup 0.000000e+00 -> %[[BAND]]
// CHECK:           scf.for
// CHECK:             npu.dma %x{{.*}} -> %[[BAND]] {{.*}} {pad = 0.000000e+00 : f64}
// CHECK:             npu.dma %[[BAND]] [0, 0, 0, 0] [1, 8, 4, 12] -> %[[SPLIT]] [0, 0, 0, 0, 0] [8, 2, 2, 6, 2]
// CHECK:             scf.if
// CHECK:             npu.dma %[[SPLIT]] [0, 0, 0, 0, 0] [8, 1, 1, 5, 1]
// CHECK:             npu.vec_sub
// CHECK:             npu.dma {{.*}} -> %[[V]] [15, {{.*}}]
// CHECK:         %[[M:.*]] = npu.hbm_alloc : !npu.buffer<16x8x25xf32, hbm>
// CHECK:         npu.kernel "conv2d_0_gemm" {{.*}}algorithm = "winograd_2x2"
// CHECK:           npu.dma %[[UV]]
// CHECK:           npu.dma %[[V]]
// CHECK:           npu.mmad
// CHECK:           npu.dma {{.*}} -> %[[M]]
// CHECK:         npu.kernel "conv2d_0" {{.*}}algorithm = "winograd_2x2"
// CHECK:           scf.for
// CHECK-COUNT-16:    npu.dma %[[M]]
// CHECK:             npu.vec_add
// CHECK:             npu.dma {{.*}} -> {{.*}} [0, 0, 1, 0, 1] [8, 1, 1, 5, 1]
// CHECK:             npu.vec_add
// CHECK:             npu.vec_relu
// CHECK:             npu.dma {{.*}} : !npu.buffer<8x18xf32, ub> -> !npu.buffer<1x8x81xf32, hbm>

// -----

// F(4x4, 3x3) with constant weights: U is computed at compile time into a new constant
// (36 positions x 4 out x 4 in channels), so there is no weight kernel.
func.func @constant_weights(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %w = ge.constant dense<5.000000e-01> : tensor<4x4x3x3xf32>
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "winograd_4x4", fused_from = ["ge.conv2d"]} : tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32> -> tensor<1x4x8x8xf32>
  func.return %y : tensor<1x4x8x8xf32>
}

// CHECK-LABEL: func.func @constant_weights
// CHECK:         %[[U:.*]] = npu.hbm_constant {{.*}} : !npu.buffer<36x4x4xf32, hbm>
// CHECK-NOT:     "conv2d_0_weights"
// CHECK:         npu.kernel "conv2d_0_input"
// CHECK:         npu.kernel "conv2d_0_gemm"
// CHECK:           npu.dma %[[U]]
// CHECK:           npu.mmad
// CHECK:         npu.kernel "conv2d_0"
