// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// Nearest half_pixel 2x2 -> 7x8 (neither o // f nor a * o + c): the rows are gathered by a
// constant index table (the S pipe reads each index, MTE2 copies the row), the columns by the
// same gather between two transposes, so every copy moves a whole row.
func.func @nearest(%x: tensor<1x3x2x2xf32>) -> tensor<1x3x7x8xf32> {
  %y = kernel.resize %x {sizes = array<i64: 1, 3, 7, 8>, mode = "nearest", coordinate_transformation_mode = "half_pixel", nearest_mode = "round_prefer_floor", fused_from = ["ge.resize"]} : (tensor<1x3x2x2xf32>) -> tensor<1x3x7x8xf32>
  func.return %y : tensor<1x3x7x8xf32>
}

// CHECK-LABEL: func.func @nearest
// CHECK:         %[[ROWS:.*]] = npu.hbm_constant dense<[0, 0, 0, 0, 1, 1, 1]> : tensor<7xi32> : !npu.buffer<7xi32, hbm>
// CHECK:         npu.kernel "resize_0_rows" {{.*}}kind = "gather"
// CHECK:           npu.dma %[[ROWS]]
// CHECK:           npu.load_scalar
// CHECK:         npu.kernel "resize_0_t0" {{.*}}kind = "transpose"
// CHECK:         %[[COLS:.*]] = npu.hbm_constant dense<[0, 0, 0, 0, 1, 1, 1, 1]> : tensor<8xi32> : !npu.buffer<8xi32, hbm>
// CHECK:         npu.kernel "resize_0_cols" {{.*}}kind = "gather"
// CHECK:           npu.dma %[[COLS]]
// CHECK:         npu.kernel "resize_0_t1" {{.*}}kind = "transpose"
