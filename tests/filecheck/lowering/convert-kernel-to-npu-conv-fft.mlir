// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// A 7x7, padded conv by FFT with bias and relu, weights a runtime input: P x Q = 14 x 14,
// Qf = 8 half-spectrum bins. The input's DFT is two cube GEMMs (rows' DFT, then columns' as one
// real GEMM over stacked re/im blocks), the weights get the same two, the channel sum per bin
// runs on the vector unit, and the inverse is two more cube GEMMs, the last one with the conv
// epilogue, straight into the output.
func.func @conv_fft(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x7x7xf32>, %b: tensor<6xf32>) -> tensor<1x6x8x8xf32> {
  %y = kernel.conv2d %x, %w bias %b : tensor<6xf32> {strides = array<i64: 1, 1>, pads = array<i64: 3, 3, 3, 3>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "fft", activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x4x8x8xf32>, tensor<6x4x7x7xf32> -> tensor<1x6x8x8xf32>
  func.return %y : tensor<1x6x8x8xf32>
}

// CHECK-LABEL: func.func @conv_fft(
// CHECK:         %[[OUT:.*]] = npu.hbm_alloc : !npu.buffer<1x6x8x8xf32, hbm>
// CHECK:         %[[X2:.*]] = npu.reshape %x : !npu.buffer<1x4x8x8xf32, hbm> -> !npu.buffer<32x8xf32, hbm>
// CHECK:         %[[T:.*]] = npu.hbm_alloc : !npu.buffer<32x16xf32, hbm>
// CHECK:         %[[COLS:.*]] = npu.hbm_constant {{.*}} : !npu.buffer<8x16xf32, hbm>
// CHECK:         npu.kernel "conv2d_0_x_cols" {{.*}}algorithm = "fft"
// CHECK:           npu.mmad
// CHECK:           npu.dma {{.*}} -> %[[T]]
// CHECK:         %[[XF:.*]] = npu.hbm_alloc : !npu.buffer<4x28x8xf32, hbm>
// CHECK:         %[[ROWS:.*]] = npu.hbm_constant {{.*}} : !npu.buffer<28x16xf32, hbm>
// CHECK:         npu.kernel "conv2d_0_x_rows"
// CHECK:           npu.mmad
// CHECK:         npu.kernel "conv2d_0_w_cols"
// CHECK:         npu.kernel "conv2d_0_w_rows"
// CHECK:         %[[YF:.*]] = npu.hbm_alloc : !npu.buffer<1x6x2x112xf32, hbm>
// CHECK:         npu.kernel "conv2d_0_mix"
// CHECK-NOT:       npu.mmad
// CHECK:           npu.vec_dup
// CHECK:           scf.for
// CHECK:             npu.vec_mul
// CHECK:             npu.vec_add
// CHECK:             npu.vec_sub
// CHECK:           npu.dma {{.*}} -> %[[YF]]
// CHECK:         %[[Z:.*]] = npu.hbm_alloc : !npu.buffer<6x16x8xf32, hbm>
// CHECK:         npu.hbm_constant {{.*}} : !npu.buffer<16x28xf32, hbm>
// CHECK:         npu.kernel "conv2d_0_inv_rows"
// CHECK:           npu.mmad
// CHECK:         npu.hbm_constant {{.*}} : !npu.buffer<16x8xf32, hbm>
// CHECK:         %[[BIAS:.*]] = npu.reshape %b : !npu.buffer<6xf32, hbm> -> !npu.buffer<6x1x1xf32, hbm>
// CHECK:         %[[ZV:.*]] = npu.reshape %[[Z]] : !npu.buffer<6x16x8xf32, hbm> -> !npu.buffer<1x6x8x16xf32, hbm>
// CHECK:         npu.kernel "conv2d_0" {{.*}}algorithm = "fft"
// CHECK:           npu.dma %[[ZV]]
// CHECK:           npu.mmad
// CHECK:           npu.dma %[[BIAS]]
// CHECK:           npu.vec_add
// CHECK:           npu.vec_relu
// CHECK:           npu.dma {{.*}} -> %[[OUT]]
// CHECK:         func.return %[[OUT]]
