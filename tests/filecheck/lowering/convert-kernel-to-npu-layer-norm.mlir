// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// Layer norm, whole rows in UB, pipelined over two sets of row tiles: turn u loads tile u
// into one set, normalizes tile u-1 in the other and stores tile u-2 (after the load, on the
// core's in-order HBM channel); each set's buffers are guarded by their own flags.
// CHECK-LABEL: func.func @layer_norm
// CHECK:      npu.kernel "layer_norm_0" block_dim = 32 {{.*}}kind = "layer_norm"
// CHECK-DAG:    %[[X0:.+]] = npu.alloc : !npu.buffer<[[TR:[0-9]+]]x768xf32, ub>
// CHECK-DAG:    %[[X1:.+]] = npu.alloc : !npu.buffer<[[TR]]x768xf32, ub>
// CHECK:        npu.dma %g
// CHECK:        npu.dma %b
// CHECK:        scf.for
// CHECK:          npu.wait_flag "V" -> "MTE2" [0]
// CHECK-NEXT:     npu.dma %x {{.*}} -> %[[X0]]
// CHECK:          npu.wait_flag "MTE2" -> "V" [3]
// CHECK:          npu.vec_reduce_sum %[[X1]]
// CHECK:          npu.vec_rsqrt
// CHECK:          npu.set_flag "V" -> "MTE2" [1]
// CHECK:          npu.dma {{.*}} -> %y
// CHECK:          npu.dma %x {{.*}} -> %[[X1]]
// CHECK:          npu.vec_reduce_sum %[[X0]]
// CHECK:          npu.dma {{.*}} -> %y
// CHECK-NOT:  npu.kernel
func.func @layer_norm(%x: tensor<128x768xf32>, %g: tensor<768xf32>, %b: tensor<768xf32>) -> tensor<128x768xf32> {
  %y = kernel.layer_norm %x, %g, %b {axis = -1 : i64, epsilon = 1.0e-05 : f64, fused_from = ["ge.layer_norm"]} : (tensor<128x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<128x768xf32>
  func.return %y : tensor<128x768xf32>
}
