// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// LRN of size 3: a zeroed band of channels with their halo, squared once, the window sum as
// one vec_window add per channel tap, then (bias + alpha/size * sum)^-beta by log/exp and a
// multiply with the band's centre rows.
func.func @lrn(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %y = kernel.lrn %x {size = 3 : i64, alpha = 1.0e-04 : f64, beta = 7.5e-01 : f64, bias = 1.0 : f64, fused_from = ["ge.lrn"]} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  func.return %y : tensor<1x8x4x4xf32>
}

// CHECK-LABEL: func.func @lrn
// CHECK:         %[[X:.*]] = npu.reshape %x : !npu.buffer<1x8x4x4xf32, hbm> -> !npu.buffer<8x16xf32, hbm>
// CHECK:         npu.kernel "lrn_0"
// CHECK:           %[[BAND:.*]] = npu.alloc : !npu.buffer<[[R:[0-9]+]]x[[S:[0-9]+]]xf32, ub>
// CHECK:           %[[SQ:.*]] = npu.alloc : !npu.buffer<[[R]]x[[S]]xf32, ub>
// CHECK:           scf.for
// CHECK:             npu.vec_dup {{.*}} %[[BAND]]
// CHECK:             npu.dma %[[X]]{{.*}} -> %[[BAND]]
// CHECK:             npu.vec_mul %[[BAND]], %[[BAND]] -> %[[SQ]]
// CHECK:             npu.vec_window "copy" %[[SQ]] [0, 0]
// CHECK:             npu.vec_window "add" %[[SQ]] [1, 0]
// CHECK:             npu.vec_window "add" %[[SQ]] [2, 0]
// CHECK:             npu.vec_log
// CHECK:             npu.vec_exp
// CHECK:             npu.vec_window "copy" %[[BAND]] [1, 0]
// CHECK:             npu.vec_mul
// CHECK:             npu.dma
