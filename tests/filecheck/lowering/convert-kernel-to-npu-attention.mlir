// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// Fused: Q to L0A once per item; per key tile K' -> L1 -> L0B, S on the cube, FIX into the UB
// score block (padded past Sk); the block's V rows in one DMA after the K' tiles; the softmax
// on the vector unit; per key tile P UB -> L1 -> L0A and P V accumulated in L0C; O / row sum
// stored.
// CHECK-LABEL: func.func @fused
// CHECK:      npu.kernel "attention_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "attention", algorithm = "fused"}
// CHECK-DAG:    %[[Q0:.+]] = npu.alloc : !npu.buffer<{{[0-9]+}}x64xf16, l0a, FRACTAL_NZ>
// CHECK-DAG:    %[[S:.+]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}xf32, l0c, FRACTAL_NZ>
// CHECK-DAG:    %[[SB:.+]] = npu.alloc : !npu.buffer<{{[0-9]+}}x128xf16, ub>
// CHECK:        scf.for
// CHECK:          npu.dma %q{{.*}} -> %[[Q1:.+]] [0, 0]
// CHECK:          npu.dma %[[Q1]]{{.*}} -> %[[Q0]]
// CHECK:          npu.dma %m
// CHECK:          scf.for
// CHECK:            npu.dma %k
// CHECK:            npu.mmad %[[Q0]], %{{.+}} -> %[[S]]
// CHECK:            npu.dma %[[S]]{{.*}} -> %[[SB]] {{.*}}{pad = -6.550400e+04 : f64}
// CHECK:          npu.dma %v
// CHECK:          npu.vec_muls %[[SB]], 1.250000e-01
// CHECK:          npu.vec_add %[[SB]], %{{.+}} -> %[[SB]]
// CHECK:          npu.vec_reduce_max %[[SB]]
// CHECK:          npu.vec_exp %[[SB]]
// CHECK:          npu.vec_reduce_sum %[[SB]]
// CHECK:          scf.for
// CHECK:            npu.dma %[[SB]]{{.*}} -> %[[P1:.+]] [0, 0]
// CHECK:            npu.dma %[[P1]]{{.*}} -> %[[P0:.+]] [0, 0]
// CHECK:            npu.mmad %[[P0]], %{{.+}} -> %[[O:.+]] [{{.+}}] accumulate
// CHECK:          npu.dma %[[O]]{{.*}} -> %[[ACC:.+]] [0, 0]
// CHECK:          npu.vec_div %[[ACC]]
// CHECK:          npu.vec_cast %[[ACC]]
// CHECK:          npu.dma %{{.+}} -> %o
// CHECK-NOT:  npu.kernel
func.func @fused(%q: tensor<1x2x128x64xf16>, %k: tensor<1x2x64x128xf16>, %v: tensor<1x2x128x64xf16>, %m: tensor<1x1x1x128xf16>) -> tensor<1x2x128x64xf16> {
  %o = kernel.attention %q, %k, %v mask %m {scale = 0.125 : f64, key_transposed = false, algorithm = "fused", fused_from = ["ge.matmul", "ge.mul", "ge.add", "ge.softmax", "ge.matmul"]} : (tensor<1x2x128x64xf16>, tensor<1x2x64x128xf16>, tensor<1x2x128x64xf16>, tensor<1x1x1x128xf16>) -> tensor<1x2x128x64xf16>
  func.return %o : tensor<1x2x128x64xf16>
}

// -----

// Rows of 8192 keys do not fit UB: an online softmax over key blocks (running max, sum and O),
// in spans of the keys over the cores (64 query rows are too few items for them).
// CHECK-LABEL: func.func @online
// CHECK:      npu.kernel "attention_0_keys"
// CHECK:        scf.for
// CHECK:          npu.vec_dup -3.000000e+38 -> %[[M:[^ ]+]]
// CHECK:          scf.for
// CHECK:            scf.for
// CHECK:            npu.vec_max %{{.+}}, %[[M]]
// CHECK:            npu.vec_exp
// CHECK:            scf.for
// CHECK:            npu.vec_mul %[[ACC:[^ ,]+]], %{{.+}} -> %[[ACC]]
// CHECK:            npu.vec_add %[[ACC]]
func.func @online(%q: tensor<64x32xf32>, %k: tensor<32x8192xf32>, %v: tensor<8192x32xf32>) -> tensor<64x32xf32> {
  %o = kernel.attention %q, %k, %v {scale = 1.0 : f64, key_transposed = false, algorithm = "fused", fused_from = ["ge.matmul"]} : (tensor<64x32xf32>, tensor<32x8192xf32>, tensor<8192x32xf32>) -> tensor<64x32xf32>
  func.return %o : tensor<64x32xf32>
}

// -----

// Unfused, with K given as (Sk, d): matmul with scale and mask in its epilogue (reading K's
// rows and transposing them on their loads into L0B: no transpose kernel), softmax and
// matmul, through HBM temporaries.
// CHECK-LABEL: func.func @unfused
// CHECK-NOT:  kind = "transpose"
// CHECK:      %[[S:.+]] = npu.hbm_alloc : !npu.buffer<2x32x48xf32, hbm>
// CHECK:      %[[P:.+]] = npu.hbm_alloc : !npu.buffer<2x32x48xf32, hbm>
// CHECK:      npu.kernel "attention_0_s" {{.*}}kind = "matmul"
// CHECK:        npu.dma %k [{{.+}}] [1, 16, 16] -> %[[K1:.+]] [0, 0] [16, 16] : !npu.buffer<2x48x16xf32, hbm>
// CHECK:        npu.dma %[[K1]] [0, 0] [16, 16] -> %{{.+}} [0, 0] [16, 16] {transpose}
// CHECK:        npu.vec_muls
// CHECK:        npu.vec_add
// CHECK:        -> %[[S]]
// CHECK:      npu.kernel "attention_0_p" {{.*}}kind = "softmax"
// CHECK:        -> %[[P]]
// CHECK:      npu.kernel "attention_0_o" {{.*}}kind = "matmul"
func.func @unfused(%q: tensor<2x32x16xf32>, %k: tensor<2x48x16xf32>, %v: tensor<2x48x16xf32>, %m: tensor<32x48xf32>) -> tensor<2x32x16xf32> {
  %o = kernel.attention %q, %k, %v mask %m {scale = 0.25 : f64, key_transposed = true, algorithm = "unfused", fused_from = ["ge.matmul"]} : (tensor<2x32x16xf32>, tensor<2x48x16xf32>, tensor<2x48x16xf32>, tensor<32x48xf32>) -> tensor<2x32x16xf32>
  func.return %o : tensor<2x32x16xf32>
}

// -----

// Several items a core, whole rows: items skewed over two sets of buffers. A turn fetches the
// next Q, scores an item (K' in chunks and V loaded only for a core's first item of a head,
// V into the buffer of the head's parity), stores an item four back, runs P V of the item
// before, the softmax of this one, and O / row sum of the one before.
// CHECK-LABEL: func.func @pipelined
// CHECK:      npu.kernel "attention_0" block_dim = {{[0-9]+}}
// CHECK:        scf.for
// CHECK:          npu.dma %q {{.*}} -> %{{.+}} [0, 0]
// CHECK:          npu.dma %{{.+}} -> %[[Q0:[^ ]+]] [0, 0] [{{[0-9]+}}, 64] : {{.*}}, l0a
// CHECK:          scf.if
// CHECK-NEXT:       npu.wait_flag "MTE1" -> "MTE2" [0]
// CHECK-NEXT:       npu.dma %k {{.*}} -> %[[K:[^ ]+]] [0, 0] [64, 32]
// CHECK:          scf.for
// CHECK:            npu.dma %[[K]]
// CHECK:            npu.mmad %[[Q0]]
// CHECK:          npu.dma %k {{.*}} [64, 32]
// CHECK:          npu.dma %v {{.*}} -> %[[V0:[^ ]+]] [0, 0]
// CHECK:          npu.dma %v {{.*}} -> %[[V1:[^ ]+]] [0, 0]
// CHECK:          -> %o
// CHECK:          npu.dma %[[V0]]
// CHECK:          npu.mmad {{.*}} accumulate
// CHECK:          npu.dma %[[V1]]
// CHECK:          npu.vec_reduce_max
// CHECK:          npu.vec_div
// CHECK:          npu.dma %q
// CHECK-NOT:  npu.kernel
func.func @pipelined(%q: tensor<1x12x128x64xf16>, %k: tensor<1x12x64x128xf16>, %v: tensor<1x12x128x64xf16>) -> tensor<1x12x128x64xf16> {
  %o = kernel.attention %q, %k, %v {scale = 0.125 : f64, key_transposed = false, algorithm = "fused", fused_from = ["ge.matmul", "ge.mul", "ge.softmax", "ge.matmul"]} : (tensor<1x12x128x64xf16>, tensor<1x12x64x128xf16>, tensor<1x12x128x64xf16>) -> tensor<1x12x128x64xf16>
  func.return %o : tensor<1x12x128x64xf16>
}

// -----

// Q, V and O in BERT's (B, S, H, d) layout (`query_perm` ...): the same kernels, their
// tiles read and written as windows of the buffers' own axes (a head's rows are 64 floats
// apart by H * d), and no transpose kernel before or after them. (16 query tiles are too
// few items for 32 cores: the keys split in two spans, and the merge stores O.)
// CHECK-LABEL: func.func @heads_in_place
// CHECK-NOT:  kind = "transpose"
// CHECK:      npu.kernel "attention_0_keys"
// CHECK:      npu.dma %q [0, %[[ROW:.+]], %[[HEAD:.+]], 0] [1, 16, 1, 64] -> %{{.+}} [0, 0] [16, 64] : !npu.buffer<1x128x2x64xf32, hbm> -> !npu.buffer<16x64xf32, l1, FRACTAL_NZ>
// CHECK:      npu.dma %k [0, %[[HEAD]], 0, %{{.+}}] [1, 1, 64, 16]
// CHECK:      npu.dma %v [0, %{{.+}}, %[[HEAD]], 0] [1, 64, 1, 64] -> %{{.+}} [0, 0] [64, 64]
// CHECK:      npu.kernel "attention_0"
// CHECK:      npu.dma %{{.+}} [0, 0, 0] [1, %[[ROWS:.+]], 64] -> %o [0, %{{.+}}, %{{.+}}, 0] [1, %[[ROWS]], 1, 64] : !npu.buffer<1x8x64xf32, ub> -> !npu.buffer<1x128x2x64xf32, hbm>
// CHECK-NOT:  npu.kernel
func.func @heads_in_place(%q: tensor<1x128x2x64xf32>, %k: tensor<1x2x64x128xf32>, %v: tensor<1x128x2x64xf32>) -> tensor<1x128x2x64xf32> {
  %o = kernel.attention %q, %k, %v {scale = 0.125 : f64, key_transposed = false, algorithm = "fused", fused_from = ["ge.transpose", "ge.matmul", "ge.softmax", "ge.matmul", "ge.transpose"], query_perm = array<i64: 0, 2, 1, 3>, value_perm = array<i64: 0, 2, 1, 3>, output_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x128x2x64xf32>, tensor<1x2x64x128xf32>, tensor<1x128x2x64xf32>) -> tensor<1x128x2x64xf32>
  func.return %o : tensor<1x128x2x64xf32>
}

// -----

// K too in BERT's (B, S, H, d) layout (key_transposed, `key_perm` (0, 2, 1, 3)): each key
// tile loads as 16 rows of d (a window of the buffer's own axes) into L1 and the MTE1 load
// into L0B transposes it to (d, 16): no transpose kernel for the key either.
// CHECK-LABEL: func.func @key_rows_in_place
// CHECK-NOT:  kind = "transpose"
// CHECK:      npu.kernel "attention_0_keys"
// CHECK:      npu.dma %k [0, %[[KEY:.+]], %[[HEAD:.+]], 0] [1, 16, 1, 64] -> %[[K1:.+]] [0, 0] [16, 64] : !npu.buffer<1x128x2x64xf32, hbm> -> !npu.buffer<16x64xf32, l1, FRACTAL_NZ>
// CHECK:      npu.dma %[[K1]] [0, 0] [16, 64] -> %[[K0:.+]] [0, 0] [64, 16] {transpose} : !npu.buffer<16x64xf32, l1, FRACTAL_NZ> -> !npu.buffer<64x16xf32, l0b, FRACTAL_NZ>
// CHECK:      npu.mmad %{{.+}}, %[[K0]]
// CHECK:      npu.kernel "attention_0"
// CHECK-NOT:  npu.kernel
func.func @key_rows_in_place(%q: tensor<1x128x2x64xf32>, %k: tensor<1x128x2x64xf32>, %v: tensor<1x128x2x64xf32>) -> tensor<1x128x2x64xf32> {
  %o = kernel.attention %q, %k, %v {scale = 0.125 : f64, key_transposed = true, algorithm = "fused", fused_from = ["ge.transpose", "ge.matmul", "ge.softmax", "ge.matmul", "ge.transpose"], query_perm = array<i64: 0, 2, 1, 3>, key_perm = array<i64: 0, 2, 1, 3>, value_perm = array<i64: 0, 2, 1, 3>, output_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x128x2x64xf32>, tensor<1x128x2x64xf32>, tensor<1x128x2x64xf32>) -> tensor<1x128x2x64xf32>
  func.return %o : tensor<1x128x2x64xf32>
}

// -----

// Flash-decoding: one unit (16 query rows of multi-query attention, one KV head) over
// 2,048 keys would be one item on one core. The keys split over the 32 cores instead: each
// split's unnormalised O, row max and row sum go to HBM partials (`_keys`), and a second
// kernel merges them (the splits' weights exp(m_j - max m), reductions over the split axis).
// CHECK-LABEL: func.func @decoding_split
// CHECK-DAG:  %[[OP:.+]] = npu.hbm_alloc : !npu.buffer<1x32x16x128xf32, hbm>
// CHECK-DAG:  %[[MP:.+]] = npu.hbm_alloc : !npu.buffer<1x32x16x1xf16, hbm>
// CHECK:      npu.kernel "attention_0_keys" block_dim = 32
// CHECK:        npu.dma %k
// CHECK:        npu.mmad
// CHECK:        npu.dma %{{.+}} -> %[[OP]] [%{{.+}}, %{{.+}}, 0, 0] [1, 1, 16, 128]
// CHECK:      npu.kernel "attention_0" block_dim = {{[0-9]+}}
// CHECK:        npu.dma %[[OP]] {{.*}} -> %[[O:[0-9]+]] [0, 0, 0] [32, %{{.+}}, 128]
// CHECK:        npu.vec_reduce_max %{{.+}} axes = [0]
// CHECK:        npu.vec_exp
// CHECK:        npu.vec_reduce_sum %[[O]] -> %[[ACC:.+]] axes = [0]
// CHECK:        npu.vec_div %[[ACC]]
// CHECK:        npu.dma %{{.+}} -> %o
func.func @decoding_split(%q: tensor<1x1x16x128xf16>, %k: tensor<1x1x2048x128xf16>, %v: tensor<1x1x2048x128xf16>) -> tensor<1x1x16x128xf16> {
  %o = kernel.attention %q, %k, %v {scale = 0.088388 : f64, key_transposed = true, algorithm = "fused", fused_from = ["ge.matmul", "ge.softmax", "ge.matmul"]} : (tensor<1x1x16x128xf16>, tensor<1x1x2048x128xf16>, tensor<1x1x2048x128xf16>) -> tensor<1x1x16x128xf16>
  func.return %o : tensor<1x1x16x128xf16>
}
