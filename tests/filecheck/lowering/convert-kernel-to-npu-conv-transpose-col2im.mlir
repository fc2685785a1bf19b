// RUN: env GE_CONV_TRANSPOSE=col2im ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// The GEMM + col2im route (forced here; a UNet-style 2x2 stride-2 up-conv picks it on its own):
// runtime weights transposed to (groups, O/g * kh * kw, C/g), cols = Wt @ X on the cube, then
// per item one DMA per tap into a zeroed padded block and one vec_window add into its phase's
// accumulator, the phases interleaved into a canvas, the bias, and the cropped store.
func.func @deconv(%x: tensor<1x3x5x5xf32>, %w: tensor<3x4x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x9x9xf32> {
  %y = kernel.conv_transpose2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64, fused_from = ["ge.conv_transpose2d"]} : (tensor<1x3x5x5xf32>, tensor<3x4x3x3xf32>, tensor<4xf32>) -> tensor<1x4x9x9xf32>
  func.return %y : tensor<1x4x9x9xf32>
}

// CHECK-LABEL: func.func @deconv
// CHECK:         npu.kernel "conv_transpose2d_0_wt" {{.*}}kind = "transpose"
// CHECK:         %[[COLS:.*]] = npu.hbm_alloc : !npu.buffer<1x1x36x25xf32, hbm>
// CHECK:         npu.kernel "conv_transpose2d_0_gemm" {{.*}}kind = "matmul"
// CHECK:           npu.mmad
// CHECK:         %[[SIX:.*]] = npu.reshape %[[COLS]] : !npu.buffer<1x1x36x25xf32, hbm> -> !npu.buffer<1x1x4x9x5x5xf32, hbm>
// CHECK:         npu.kernel "conv_transpose2d_0" {{.*}}kind = "conv_transpose2d"
// CHECK:           %[[CANVAS:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x6x2x6x2xf32, ub>
// CHECK:           scf.for
// CHECK:             npu.dma %[[SIX]]
// CHECK:             npu.vec_window "add"
// CHECK-COUNT-8:     npu.vec_window "add"
// CHECK:             npu.dma {{.*}} -> %[[CANVAS]]
// CHECK:             npu.vec_add
// CHECK:             npu.dma {{.*}} -> %y
