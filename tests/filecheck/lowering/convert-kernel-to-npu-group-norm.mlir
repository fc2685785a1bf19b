// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu --split-input-file | filecheck %s

// Groups that fit UB: the input viewed as (N*G, C/G, H*W) rows, a whole group a tile; the
// mean and the centred variance reduce over the tile's last two axes, then the per-channel
// scale (times rsqrt(var + eps)) and bias broadcast along the pixels, and the SiLU runs on
// the tile before MTE3 stores it: one kernel, one read and one write of the activation.
func.func @group_norm_silu(%x: tensor<2x8x5x5xf32>, %s: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x8x5x5xf32> {
  %y = kernel.group_norm %x, %s, %b {num_groups = 4 : i64, epsilon = 1.0e-05 : f64, activation = "silu", fused_from = ["ge.group_norm", "ge.silu"]} : (tensor<2x8x5x5xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8x5x5xf32>
  func.return %y : tensor<2x8x5x5xf32>
}

// CHECK-LABEL: func.func @group_norm_silu
// CHECK:         %[[X:.*]] = npu.reshape %x : !npu.buffer<2x8x5x5xf32, hbm> -> !npu.buffer<8x2x25xf32, hbm>
// CHECK-NEXT:    %[[S:.*]] = npu.reshape %s : !npu.buffer<8xf32, hbm> -> !npu.buffer<4x2x1xf32, hbm>
// CHECK-NEXT:    %[[B:.*]] = npu.reshape %b : !npu.buffer<8xf32, hbm> -> !npu.buffer<4x2x1xf32, hbm>
// CHECK-NEXT:    %[[Y:.*]] = npu.reshape %y : !npu.buffer<2x8x5x5xf32, hbm> -> !npu.buffer<8x2x25xf32, hbm>
// CHECK:         npu.kernel "group_norm_0" block_dim = 8 attributes {{{.*}}fused_from = ["ge.group_norm", "ge.silu"]
// CHECK:           scf.for
// CHECK:             npu.dma %[[S]]
// CHECK:             npu.dma %[[B]]
// CHECK:             npu.dma %[[X]]
// CHECK:             npu.vec_reduce_sum %{{.*}} axes = [1, 2] : !npu.buffer<1x2x25xf32, ub> -> !npu.buffer<1x1x1xf32, ub>
// CHECK:             npu.vec_sub
// CHECK:             npu.vec_mul
// CHECK:             npu.vec_reduce_sum
// CHECK:             npu.vec_rsqrt
// CHECK:             npu.vec_mul %{{.*}}, %{{.*}} : !npu.buffer<1x2x1xf32, ub>, !npu.buffer<1x1x1xf32, ub>
// CHECK:             npu.vec_mul %{{.*}}, %{{.*}} : !npu.buffer<1x2x25xf32, ub>, !npu.buffer<1x2x1xf32, ub>
// CHECK:             npu.vec_add
// CHECK:             npu.vec_sigmoid
// CHECK:             npu.vec_mul
// CHECK:             npu.dma %{{.*}} -> %[[Y]]
// CHECK-NOT:     scf.for

// -----

// A group larger than UB (16 channels of 64x64 f32, 256 KB): one group an item, walked in
// chunks of whole channel rows twice, each walk pipelined over two buffer sets: the shift K
// (the first chunk's mean), then the sums of x - K and (x - K)^2, then the normalized chunks
// with their scale and bias.
func.func @group_norm_streamed(%x: tensor<2x256x64x64xf32>, %s: tensor<256xf32>, %b: tensor<256xf32>) -> tensor<2x256x64x64xf32> {
  %y = kernel.group_norm %x, %s, %b {num_groups = 16 : i64, epsilon = 1.0e-05 : f64, fused_from = ["ge.group_norm"]} : (tensor<2x256x64x64xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<2x256x64x64xf32>
  func.return %y : tensor<2x256x64x64xf32>
}

// CHECK-LABEL: func.func @group_norm_streamed
// CHECK:         %[[X:.*]] = npu.reshape %x : !npu.buffer<2x256x64x64xf32, hbm> -> !npu.buffer<32x16x4096xf32, hbm>
// CHECK:         npu.kernel "group_norm_0" block_dim = 32
// CHECK:           %[[X0:.*]] = npu.alloc : !npu.buffer<1x[[KC:[0-9]+]]x4096xf32, ub>
// CHECK-NEXT:      %[[X1:.*]] = npu.alloc : !npu.buffer<1x[[KC]]x4096xf32, ub>
// CHECK:           scf.for
// CHECK:             npu.dma %[[X]] {{.*}} -> %[[X0]]
// CHECK:             npu.vec_reduce_sum %[[X0]]
// CHECK:             npu.vec_dup
// CHECK:             npu.vec_dup
// CHECK:             scf.for
// CHECK:               npu.dma %[[X]] {{.*}} -> %[[X0]]
// CHECK:               npu.vec_sub %[[X1]]
// CHECK:               npu.vec_reduce_sum %[[X1]]
// CHECK:               npu.vec_mul %[[X1]], %[[X1]]
// CHECK:               npu.dma %[[X]] {{.*}} -> %[[X1]]
// CHECK:               npu.vec_sub %[[X0]]
// CHECK:             npu.vec_rsqrt
// CHECK:             scf.for
// CHECK:               npu.dma %[[X]] {{.*}} -> %[[X0]]
// CHECK:               npu.dma %{{.*}} [1, [[KC]], 1] -> %{{.*}} [0, 0, 0] [1, [[KC]], 1]
// CHECK:               npu.vec_sub %[[X1]]
// CHECK:               npu.dma {{.*}} -> %[[Y:[^ ]+]] [
// CHECK:               npu.dma %[[X]] {{.*}} -> %[[X1]]
// CHECK:               npu.vec_sub %[[X0]]
// CHECK:               npu.dma {{.*}} -> %[[Y]] [

// -----

// One group (GroupNorm(1, 64), 1 MB) is too few items for the cores: its chunks are split
// in spans over them, in two kernels. The first sums each span into a buffer of partial
// sums (one row per group, a column per span); the second adds a group's partials, takes
// the mean and rstd, and normalizes its span.
func.func @one_group(%x: tensor<1x64x64x64xf32>, %s: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<1x64x64x64xf32> {
  %y = kernel.group_norm %x, %s, %b {num_groups = 1 : i64, epsilon = 1.0e-05 : f64, fused_from = ["ge.group_norm"]} : (tensor<1x64x64x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x64x64x64xf32>
  func.return %y : tensor<1x64x64x64xf32>
}

// CHECK-LABEL: func.func @one_group
// CHECK:         %[[P:.*]] = npu.hbm_alloc : !npu.buffer<1x[[PARTS:[0-9]+]]x2xf32, hbm>
// CHECK:         npu.kernel "group_norm_0_stats" block_dim = [[PARTS]]
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               npu.vec_reduce_sum
// CHECK:             npu.dma %{{.*}} [0, 0, 0] [1, 1, 1] -> %[[P]] [%{{.*}}, %{{.*}}, 0]
// CHECK:             npu.dma %{{.*}} [0, 0, 0] [1, 1, 1] -> %[[P]] [%{{.*}}, %{{.*}}, 1]
// CHECK:         npu.kernel "group_norm_0" block_dim = [[PARTS]]
// CHECK:           scf.for
// CHECK:             npu.dma %[[P]] [%{{.*}}, 0, 0] [1, [[PARTS]], 1]
// CHECK:             npu.dma %[[P]] [%{{.*}}, 0, 1] [1, [[PARTS]], 1]
// CHECK:             npu.vec_rsqrt
// CHECK:             scf.for
