// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu --split-input-file | filecheck %s

// LLaMA's query rotation: x (1, H, S, D) as (H, S, D) rows, cos and sin one (S, D) block for
// every head. An item takes ts positions of a group of heads: its cos and sin halves load
// once, then each head's halves load, rotate (x1 c1 - x2 s1, x2 c2 + x1 s2: six whole-tile
// vector ops) and store, pipelined over two buffer sets.
func.func @llama_query(%q: tensor<1x4x16x8xf32>, %cos: tensor<1x1x16x8xf32>, %sin: tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %y = kernel.rope %q, %cos, %sin {fused_from = ["ge.rope"]} : (tensor<1x4x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32>
  func.return %y : tensor<1x4x16x8xf32>
}

// CHECK-LABEL: func.func @llama_query
// CHECK:         %[[X:.*]] = npu.reshape %q : !npu.buffer<1x4x16x8xf32, hbm> -> !npu.buffer<4x16x8xf32, hbm>
// CHECK:         %[[C:.*]] = npu.reshape %cos : !npu.buffer<1x1x16x8xf32, hbm> -> !npu.buffer<1x16x8xf32, hbm>
// CHECK:         npu.kernel "rope_0" {{.*}} kind = "rope"
// CHECK:           scf.for
// CHECK:             npu.dma %[[C]] [0, %{{.*}}, 0] [1, [[TS:[0-9]+]], 4]
// CHECK:             npu.dma %[[C]] [0, %{{.*}}, 4] [1, [[TS]], 4]
// CHECK:             scf.for
// CHECK:               npu.dma %[[X]] [%{{.*}}, %{{.*}}, 0] [1, [[TS]], 4]
// CHECK:               npu.dma %[[X]] [%{{.*}}, %{{.*}}, 4] [1, [[TS]], 4]
// CHECK:               npu.vec_mul
// CHECK-NEXT:          npu.vec_mul
// CHECK-NEXT:          npu.vec_sub
// CHECK-NEXT:          npu.vec_mul
// CHECK-NEXT:          npu.vec_mul
// CHECK-NEXT:          npu.vec_add
// CHECK:               npu.dma %{{.*}} [0, 0] [[[TS]], 4] -> %{{.*}} [%{{.*}}, %{{.*}}, 0]
// CHECK:               npu.dma %{{.*}} [0, 0] [[[TS]], 4] -> %{{.*}} [%{{.*}}, %{{.*}}, 4]

// -----

// Tables per head (cos (B, H, S, D)): each head's block loads with the head, inside the walk.
func.func @tables_per_head(%q: tensor<2x3x6x4xf32>, %cos: tensor<2x3x6x4xf32>, %sin: tensor<6x1xf32>) -> tensor<2x3x6x4xf32> {
  %y = kernel.rope %q, %cos, %sin {fused_from = ["ge.rope"]} : (tensor<2x3x6x4xf32>, tensor<2x3x6x4xf32>, tensor<6x1xf32>) -> tensor<2x3x6x4xf32>
  func.return %y : tensor<2x3x6x4xf32>
}

// CHECK-LABEL: func.func @tables_per_head
// CHECK:         %[[C:.*]] = npu.reshape %cos : !npu.buffer<2x3x6x4xf32, hbm> -> !npu.buffer<6x6x4xf32, hbm>
// CHECK:         %[[S:.*]] = npu.reshape %sin : !npu.buffer<6x1xf32, hbm> -> !npu.buffer<1x6x1xf32, hbm>
// CHECK:         npu.kernel "rope_0"
// CHECK:           scf.for
// CHECK-NOT:         npu.dma %[[C]]
// CHECK:             scf.for
// CHECK:               npu.dma %[[C]]
// CHECK:               npu.dma %[[S]] [0, %{{.*}}, 0] [1, {{[^,]+}}, 1]

// -----

// Partial rotary (rotary_dim 16 of 64, GPT-NeoX): the rotated halves are columns [0, 8) and
// [8, 16) with tables of 16 columns; the other 48 columns load into a tile of their own and
// store back unchanged in the same walk, with no vector op on them.
// CHECK-LABEL: func.func @partial
// CHECK:      npu.kernel "rope_0"
// CHECK:        npu.dma %[[X:[0-9]+]] [%[[ROW:[0-9]+]], %[[S:[0-9]+]], 0] [1, 4, 8] -> %{{[0-9]+}} [0, 0] [4, 8]
// CHECK-NEXT:   npu.dma %[[X]] [%[[ROW]], %[[S]], 8] [1, 4, 8] -> %{{[0-9]+}} [0, 0] [4, 8]
// CHECK:        npu.dma %[[X]] [%[[ROW]], %[[S]], 16] [1, 4, 48] -> %[[REST:[0-9]+]] [0, 0] [4, 48]
// CHECK:        npu.dma %[[REST]] [0, 0] [4, 48] -> %{{[0-9]+}} [%{{[0-9]+}}, %[[S]], 16] [1, 4, 48]
func.func @partial(%x: tensor<1x4x32x64xf32>, %c: tensor<1x1x32x16xf32>, %s: tensor<1x1x32x16xf32>) -> tensor<1x4x32x64xf32> {
  %y = kernel.rope %x, %c, %s {rotary_dim = 16 : i64, fused_from = ["ge.rope"]} : (tensor<1x4x32x64xf32>, tensor<1x1x32x16xf32>, tensor<1x1x32x16xf32>) -> tensor<1x4x32x64xf32>
  func.return %y : tensor<1x4x32x64xf32>
}
