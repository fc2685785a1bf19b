// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// RMSNorm over the last axis of 2x37 rows of 50: the layer norm pipeline (rows viewed as
// (74, 50), tiles spread over the vector cores, loads / vector work / stores of neighbouring
// tiles overlapped over two buffer sets) with RMS norm's body: square, row sum, 1/C, + eps,
// rsqrt, scale the row, times the scale vector; no mean and no bias.
func.func @rms(%x: tensor<2x37x50xf32>, %g: tensor<50xf32>) -> tensor<2x37x50xf32> {
  %y = kernel.rms_norm %x, %g {axis = -1 : i64, epsilon = 1.0e-06 : f64, fused_from = ["ge.rms_norm"]} : (tensor<2x37x50xf32>, tensor<50xf32>) -> tensor<2x37x50xf32>
  func.return %y : tensor<2x37x50xf32>
}

// CHECK:      func.func @rms(%x: !npu.buffer<2x37x50xf32, hbm>, %g: !npu.buffer<50xf32, hbm>)
// CHECK:        %[[X:.*]] = npu.reshape %x : !npu.buffer<2x37x50xf32, hbm> -> !npu.buffer<74x50xf32, hbm>
// CHECK:        npu.kernel "rms_norm_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "rms_norm"}
// CHECK:          npu.dma %{{.*}} [0] [50] -> %[[SCALE:[^ ]*]] [0, 0] [1, 50]
// CHECK:          scf.for
// CHECK:            npu.dma %[[X]]
// CHECK:            npu.set_flag "MTE2" -> "V"
// CHECK:            npu.wait_flag "MTE2" -> "V"
// CHECK-NEXT:       npu.wait_flag "MTE3" -> "V"
// CHECK-NEXT:       npu.vec_mul %[[T:[^,]*]], %[[T]] -> %[[SQ:[^ ]*]]
// CHECK-NEXT:       npu.vec_reduce_sum %[[SQ]] -> %[[S:[^ ]*]] axes = [1]
// CHECK-NEXT:       npu.vec_muls %[[S]], 2.000000e-02
// CHECK-NEXT:       npu.vec_adds %[[S]], 1.000000e-06
// CHECK-NEXT:       npu.vec_rsqrt %[[S]]
// CHECK-NEXT:       npu.vec_mul %[[T]], %[[S]] -> %[[Y:[^ ]*]]
// CHECK-NEXT:       npu.vec_mul %[[Y]], %[[SCALE]] -> %[[Y]]
// CHECK-NOT:        npu.vec_sub
// CHECK:            npu.dma %{{.*}} -> %{{.*}} : !npu.buffer<{{.*}}x50xf32, ub> -> !npu.buffer<74x50xf32, hbm>
