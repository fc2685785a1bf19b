// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// Bilinear 4x6 -> 8x10: the interpolation matrices are constants; the columns pass (the smaller intermediate first) is one GEMM
// over every row of every plane, (P*H, W) @ Cx^T, into an HBM temporary, and the rows pass one
// GEMM batched over the planes with the broadcast Ry (1, Ho, H), into the output.
func.func @bilinear(%x: tensor<1x3x4x6xf32>) -> tensor<1x3x8x10xf32> {
  %y = kernel.resize %x {sizes = array<i64: 1, 3, 8, 10>, mode = "linear", coordinate_transformation_mode = "half_pixel", nearest_mode = "floor", fused_from = ["ge.resize"]} : (tensor<1x3x4x6xf32>) -> tensor<1x3x8x10xf32>
  func.return %y : tensor<1x3x8x10xf32>
}

// CHECK-LABEL: func.func @bilinear
// CHECK:         %[[X:.*]] = npu.reshape %x : !npu.buffer<1x3x4x6xf32, hbm> -> !npu.buffer<3x4x6xf32, hbm>
// CHECK:         %[[T:.*]] = npu.hbm_alloc : !npu.buffer<3x4x10xf32, hbm>
// CHECK:         %[[ROWS:.*]] = npu.reshape %[[X]] : !npu.buffer<3x4x6xf32, hbm> -> !npu.buffer<12x6xf32, hbm>
// CHECK:         %[[CX:.*]] = npu.hbm_constant {{.*}} : !npu.buffer<6x10xf32, hbm>
// CHECK:         npu.kernel "resize_0_cols"
// CHECK:           npu.mmad
// CHECK:         %[[Y:.*]] = npu.reshape {{.*}} -> !npu.buffer<3x8x10xf32, hbm>
// CHECK:         %[[RY:.*]] = npu.hbm_constant {{.*}} : !npu.buffer<1x8x4xf32, hbm>
// CHECK:         npu.kernel "resize_0_rows"
// CHECK:           npu.dma %[[RY]]
// CHECK:           npu.mmad
// CHECK:           npu.dma {{.*}} -> %[[Y]]
