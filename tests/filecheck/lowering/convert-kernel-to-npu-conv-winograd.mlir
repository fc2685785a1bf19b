// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// Winograd F(2x2, 3x3) with runtime weights: a vector kernel transforms the weights
// (U = G g G^T, 16 positions), then one fused kernel per item (a few tiles of 8 output
// channels): the input band HBM -> UB at its padded place, zeroed on the image's top edge,
// split by tile; V = B^T d B on the vector unit moved UB -> L1 position by position (MTE3);
// the item's U block loaded once into L1; per position U -> L0A, V -> L0B, mmad, FIX into UB;
// Y = A^T M A and the epilogue on the vector unit; the store. V and M never reach HBM.
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
// CHECK-NOT:     npu.hbm_alloc
// CHECK:         %[[UG:.*]] = npu.reshape {{.*}} -> !npu.buffer<16x1x8x8xf32, hbm>
// CHECK-NOT:     npu.hbm_alloc
// CHECK:         npu.kernel "conv2d_0" {{.*}}algorithm = "winograd_2x2"
// CHECK:           %[[BAND:.*]] = npu.alloc : !npu.buffer<1x8x4x4xf32, ub>
// CHECK:           %[[V0:.*]] = npu.alloc : !npu.buffer<16x16x16xf32, l1, FRACTAL_NZ>
// CHECK:           %[[V1:.*]] = npu.alloc : !npu.buffer<16x16x16xf32, l1, FRACTAL_NZ>
// CHECK:           %[[UL1:.*]] = npu.alloc : !npu.buffer<16x16x16xf32, l1, FRACTAL_NZ>
// CHECK:           scf.for
// CHECK:             scf.if
// CHECK:               scf.for
// CHECK:                 scf.if
// CHECK:                   npu.vec_dup 0.000000e+00 -> %[[BAND]]
// CHECK:                 npu.dma %x{{.*}} -> %[[BAND]] {{.*}} {pad = 0.000000e+00 : f64}
// CHECK:                 npu.vec_sub
// CHECK:                 npu.dma {{.*}} -> %[[V0]] [15, {{.*}}]
// CHECK:               scf.if
// CHECK:                 npu.dma %[[UG]] {{.*}} -> %[[UL1]]
// CHECK:             scf.if
// CHECK:               npu.dma {{.*}} -> %y
// CHECK:             scf.if
// CHECK:               npu.dma %[[UL1]] [0, 0, 0] [1, 8, 8] -> {{.*}} l0a
// CHECK:               npu.dma %[[V1]] [0, 0, 0] [1, 8, 1] -> {{.*}} l0b
// CHECK:               npu.mmad
// CHECK:               npu.dma {{.*}} l0c, FRACTAL_NZ> -> !npu.buffer<8x1xf32, ub>
// CHECK-COUNT-15:      npu.mmad
// CHECK:               npu.vec_add
// CHECK:               npu.vec_relu
// CHECK:             scf.if
// CHECK:               npu.dma {{.*}} -> %[[V1]] [15, {{.*}}]
// CHECK:             scf.if
// CHECK:               npu.dma {{.*}} -> %y
// CHECK:             scf.if
// CHECK:               npu.dma %[[V0]] [0, 0, 0]
// CHECK:               npu.mmad

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
// CHECK:         %[[UG:.*]] = npu.reshape %[[U]] : !npu.buffer<36x4x4xf32, hbm> -> !npu.buffer<36x1x4x4xf32, hbm>
// CHECK:         npu.kernel "conv2d_0" {{.*}}algorithm = "winograd_4x4"
// CHECK:           npu.dma %[[UG]]
// CHECK-COUNT-36:  npu.mmad
// CHECK-NOT:     npu.kernel
