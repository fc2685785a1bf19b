// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu --split-input-file | filecheck %s

// A batch norm with runtime statistics: per tile the channel block's four vectors come in as
// (tc, 1) columns, then (x - mean) * (scale * rsqrt(var + eps)) + bias on the vector unit.
func.func @batch_norm(%x: tensor<2x8x6x6xf32>, %s: tensor<8xf32>, %b: tensor<8xf32>, %m: tensor<8xf32>, %v: tensor<8xf32>) -> tensor<2x8x6x6xf32> {
  %y = kernel.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f64, fused_from = ["ge.batch_norm"]} : (tensor<2x8x6x6xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8x6x6xf32>
  func.return %y : tensor<2x8x6x6xf32>
}

// CHECK-LABEL: func.func @batch_norm
// CHECK:         %[[X:.*]] = npu.reshape %x : !npu.buffer<2x8x6x6xf32, hbm> -> !npu.buffer<16x36xf32, hbm>
// CHECK:         npu.kernel "batch_norm_0"
// CHECK:           scf.for
// CHECK:             npu.dma %s
// CHECK:             npu.dma %b
// CHECK:             npu.dma %m
// CHECK:             npu.dma %v
// CHECK:             npu.dma %[[X]]
// CHECK:             npu.vec_adds
// CHECK:             npu.vec_rsqrt
// CHECK:             npu.vec_mul
// CHECK:             npu.vec_sub
// CHECK:             npu.vec_mul
// CHECK:             npu.vec_add

// -----

// An instance norm is a group norm of one channel a group (lowering/lower_group_norm.py):
// the input viewed as (N*C, 1, H*W); rows that fit UB take one load per tile, the mean, the
// centred variance and the output from it.
func.func @instance_norm(%x: tensor<1x4x5x5xf32>, %s: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<1x4x5x5xf32> {
  %y = kernel.instance_norm %x, %s, %b {epsilon = 1.0e-05 : f64, fused_from = ["ge.instance_norm"]} : (tensor<1x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x5x5xf32>
  func.return %y : tensor<1x4x5x5xf32>
}

// CHECK-LABEL: func.func @instance_norm
// CHECK:         %[[X:.*]] = npu.reshape %x : !npu.buffer<1x4x5x5xf32, hbm> -> !npu.buffer<4x1x25xf32, hbm>
// CHECK:         npu.kernel "instance_norm_0" {{.*}} kind = "instance_norm"
// CHECK:           scf.for
// CHECK:             npu.dma %[[X]]
// CHECK:             npu.vec_reduce_sum
// CHECK:             npu.vec_sub
// CHECK:             npu.vec_mul
// CHECK:             npu.vec_reduce_sum
// CHECK:             npu.vec_rsqrt
// CHECK-NOT:         scf.for
// CHECK:             npu.dma {{.*}} -> %{{.*}}
