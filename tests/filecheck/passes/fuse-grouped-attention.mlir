// RUN: ge-opt %s --split-input-file -p fuse-attention,fuse-attention-layout,fuse-grouped-attention | filecheck %s

// Grouped-query attention (HF's repeat_kv): K and V have 2 heads, each repeated for 2 of
// the 4 query heads by unsqueeze / expand / reshape. The attention reads them unrepeated:
// the head axis splits into (KV heads, group) on Q, the mask and O (views), K and V
// broadcast over the group, and their head-split transposes through the unit axis the
// repeat left become the layouts (rows of d read in place).
// CHECK-LABEL: func.func @grouped_query
// CHECK-SAME: (%[[Q:.+]]: tensor<1x8x4x16xf32>, %[[K:.+]]: tensor<1x8x2x16xf32>, %[[V:.+]]: tensor<1x8x2x16xf32>)
// CHECK-NOT: ge.expand
// CHECK-NOT: ge.transpose
// CHECK-DAG: %[[QG:.+]] = ge.reshape %[[Q]] {shape = array<i64: 1, 8, 2, 2, 16>}
// CHECK-DAG: %[[MG:.+]] = ge.reshape %{{.+}} {shape = array<i64: 1, 1, 1, 8, 8>}
// CHECK-DAG: %[[KS:.+]] = ge.reshape %[[K]] {shape = array<i64: 1, 1, 8, 2, 16>}
// CHECK-DAG: %[[VS:.+]] = ge.reshape %[[V]] {shape = array<i64: 1, 1, 8, 2, 16>}
// CHECK: %[[O:.+]] = kernel.attention %[[QG]], %[[KS]], %[[VS]] mask %[[MG]] {{{.*}}query_perm = array<i64: 0, 2, 3, 1, 4>, output_perm = array<i64: 0, 3, 1, 2, 4>, key_perm = array<i64: 0, 3, 1, 2, 4>, value_perm = array<i64: 0, 3, 1, 2, 4>} : (tensor<1x8x2x2x16xf32>, tensor<1x1x8x2x16xf32>, tensor<1x1x8x2x16xf32>, tensor<1x1x1x8x8xf32>) -> tensor<1x8x2x2x16xf32>
// CHECK-NEXT: %[[R:.+]] = ge.reshape %[[O]] {shape = array<i64: 1, 8, 4, 16>}
// CHECK-NEXT: func.return %[[R]]
func.func @grouped_query(%q: tensor<1x8x4x16xf32>, %k: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x16xf32>) -> tensor<1x8x4x16xf32> {
  %qt = ge.transpose %q {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x4x16xf32>) -> tensor<1x4x8x16xf32>
  %kh = ge.transpose %k {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>) -> tensor<1x2x8x16xf32>
  %ku = ge.reshape %kh {shape = array<i64: 1, 2, 1, 8, 16>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x1x8x16xf32>
  %ke = ge.expand %ku {shape = array<i64: 1, 2, 2, 8, 16>} : (tensor<1x2x1x8x16xf32>) -> tensor<1x2x2x8x16xf32>
  %kr = ge.reshape %ke {shape = array<i64: 1, 4, 8, 16>} : (tensor<1x2x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  %kt = ge.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x8x16xf32>) -> tensor<1x4x16x8xf32>
  %vh = ge.transpose %v {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>) -> tensor<1x2x8x16xf32>
  %vu = ge.reshape %vh {shape = array<i64: 1, 2, 1, 8, 16>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x1x8x16xf32>
  %ve = ge.expand %vu {shape = array<i64: 1, 2, 2, 8, 16>} : (tensor<1x2x1x8x16xf32>) -> tensor<1x2x2x8x16xf32>
  %vr = ge.reshape %ve {shape = array<i64: 1, 4, 8, 16>} : (tensor<1x2x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  %s = ge.matmul %qt, %kt : (tensor<1x4x8x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x8x8xf32>
  %c = ge.constant dense<0.25> : tensor<1xf32>
  %s2 = ge.mul %s, %c : (tensor<1x4x8x8xf32>, tensor<1xf32>) -> tensor<1x4x8x8xf32>
  %m = ge.constant dense<0.0> : tensor<1x1x8x8xf32>
  %s3 = ge.add %s2, %m : (tensor<1x4x8x8xf32>, tensor<1x1x8x8xf32>) -> tensor<1x4x8x8xf32>
  %p = ge.softmax %s3 {axis = -1 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %o = ge.matmul %p, %vr : (tensor<1x4x8x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
  %ot = ge.transpose %o {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x8x16xf32>) -> tensor<1x8x4x16xf32>
  func.return %ot : tensor<1x8x4x16xf32>
}

// -----

// A decoding step of multi-query attention (one KV head for 4 query heads, one query row):
// the repeat goes (the kernel broadcasts the one head; no split is needed), and the 4
// queries, which share K and V, become 4 rows of one query (views of the same bytes): K
// and V are read once, not once per head.
// CHECK-LABEL: func.func @decoding_step
// CHECK-SAME: (%[[Q:.+]]: tensor<1x4x1x16xf32>, %[[K:.+]]: tensor<1x1x10x16xf32>, %[[V:.+]]: tensor<1x1x10x16xf32>)
// CHECK-NOT: ge.expand
// CHECK: %[[ROWS:.+]] = ge.reshape %[[Q]] {shape = array<i64: 1, 1, 4, 16>}
// CHECK-NEXT: %[[O:.+]] = kernel.attention %[[ROWS]], %[[K]], %[[V]] {scale = 1.000000e+00 : f64, key_transposed = true, fused_from = [{{.*}}]} : (tensor<1x1x4x16xf32>, tensor<1x1x10x16xf32>, tensor<1x1x10x16xf32>) -> tensor<1x1x4x16xf32>
// CHECK-NEXT: %[[R:.+]] = ge.reshape %[[O]] {shape = array<i64: 1, 4, 1, 16>}
// CHECK-NEXT: func.return %[[R]]
func.func @decoding_step(%q: tensor<1x4x1x16xf32>, %k: tensor<1x1x10x16xf32>, %v: tensor<1x1x10x16xf32>) -> tensor<1x4x1x16xf32> {
  %ku = ge.reshape %k {shape = array<i64: 1, 1, 1, 10, 16>} : (tensor<1x1x10x16xf32>) -> tensor<1x1x1x10x16xf32>
  %ke = ge.expand %ku {shape = array<i64: 1, 1, 4, 10, 16>} : (tensor<1x1x1x10x16xf32>) -> tensor<1x1x4x10x16xf32>
  %kr = ge.reshape %ke {shape = array<i64: 1, 4, 10, 16>} : (tensor<1x1x4x10x16xf32>) -> tensor<1x4x10x16xf32>
  %kt = ge.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x10x16xf32>) -> tensor<1x4x16x10xf32>
  %vu = ge.reshape %v {shape = array<i64: 1, 1, 1, 10, 16>} : (tensor<1x1x10x16xf32>) -> tensor<1x1x1x10x16xf32>
  %ve = ge.expand %vu {shape = array<i64: 1, 1, 4, 10, 16>} : (tensor<1x1x1x10x16xf32>) -> tensor<1x1x4x10x16xf32>
  %vr = ge.reshape %ve {shape = array<i64: 1, 4, 10, 16>} : (tensor<1x1x4x10x16xf32>) -> tensor<1x4x10x16xf32>
  %s = ge.matmul %q, %kt : (tensor<1x4x1x16xf32>, tensor<1x4x16x10xf32>) -> tensor<1x4x1x10xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<1x4x1x10xf32>) -> tensor<1x4x1x10xf32>
  %o = ge.matmul %p, %vr : (tensor<1x4x1x10xf32>, tensor<1x4x10x16xf32>) -> tensor<1x4x1x16xf32>
  func.return %o : tensor<1x4x1x16xf32>
}

// -----

// K repeated as `k.repeat(1, 2, 1, 1)` (heads as (group, KV head)): the same rewrite with
// the other part broadcast; V, not repeated, is split into the parts by a view.
// CHECK-LABEL: func.func @tiled_heads
// CHECK-SAME: (%[[Q:.+]]: tensor<1x4x8x16xf32>, %[[K:.+]]: tensor<1x2x8x16xf32>, %[[V:.+]]: tensor<1x4x8x16xf32>)
// CHECK-NOT: ge.expand
// CHECK-DAG: %[[KU:.+]] = ge.reshape %[[K]] {shape = array<i64: 1, 1, 2, 8, 16>}
// CHECK-DAG: %[[QG:.+]] = ge.reshape %[[Q]] {shape = array<i64: 1, 2, 2, 8, 16>}
// CHECK-DAG: %[[VG:.+]] = ge.reshape %[[V]] {shape = array<i64: 1, 2, 2, 8, 16>}
// CHECK: kernel.attention %[[QG]], %[[KU]], %[[VG]] {{.*}} -> tensor<1x2x2x8x16xf32>
func.func @tiled_heads(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %ku = ge.reshape %k {shape = array<i64: 1, 1, 2, 8, 16>} : (tensor<1x2x8x16xf32>) -> tensor<1x1x2x8x16xf32>
  %ke = ge.expand %ku {shape = array<i64: 1, 2, 2, 8, 16>} : (tensor<1x1x2x8x16xf32>) -> tensor<1x2x2x8x16xf32>
  %kr = ge.reshape %ke {shape = array<i64: 1, 4, 8, 16>} : (tensor<1x2x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  %kt = ge.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x8x16xf32>) -> tensor<1x4x16x8xf32>
  %s = ge.matmul %q, %kt : (tensor<1x4x8x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x8x8xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %o = ge.matmul %p, %v : (tensor<1x4x8x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
  func.return %o : tensor<1x4x8x16xf32>
}

// -----

// A repeat another op reads too stays (its expand is needed anyway).
// CHECK-LABEL: func.func @shared_repeat
// CHECK: %[[KE:.+]] = ge.expand
// CHECK: %[[KR:.+]] = ge.reshape %[[KE]] {shape = array<i64: 1, 4, 8, 16>}
// CHECK: kernel.attention %{{[^,]+}}, %[[KR]], %{{[^ ]+}} {{.*}} -> tensor<1x4x8x16xf32>
func.func @shared_repeat(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> (tensor<1x4x8x16xf32>, tensor<1x2x2x8x16xf32>) {
  %ku = ge.reshape %k {shape = array<i64: 1, 1, 2, 8, 16>} : (tensor<1x2x8x16xf32>) -> tensor<1x1x2x8x16xf32>
  %ke = ge.expand %ku {shape = array<i64: 1, 2, 2, 8, 16>} : (tensor<1x1x2x8x16xf32>) -> tensor<1x2x2x8x16xf32>
  %kr = ge.reshape %ke {shape = array<i64: 1, 4, 8, 16>} : (tensor<1x2x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  %kt = ge.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x8x16xf32>) -> tensor<1x4x16x8xf32>
  %s = ge.matmul %q, %kt : (tensor<1x4x8x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x8x8xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %o = ge.matmul %p, %v : (tensor<1x4x8x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
  func.return %o, %ke : tensor<1x4x8x16xf32>, tensor<1x2x2x8x16xf32>
}

// -----

// torch's k.repeat(1, 2, 1, 1) exports as ONNX Tile, which the importer writes as an
// expand between reshapes that put a unit axis before every axis: the same repeat (heads
// as (group, KV head)), read unrepeated; the unit-axis reshape folds into the new view.
// CHECK-LABEL: func.func @tile_import
// CHECK-SAME: (%[[Q:.+]]: tensor<1x4x8x16xf32>, %[[K:.+]]: tensor<1x2x8x16xf32>, %[[V:.+]]: tensor<1x2x8x16xf32>)
// CHECK-NOT: ge.expand
// CHECK-DAG: %[[QG:.+]] = ge.reshape %[[Q]] {shape = array<i64: 1, 2, 2, 8, 16>}
// CHECK-DAG: %[[KG:.+]] = ge.reshape %[[K]] {shape = array<i64: 1, 1, 2, 8, 16>}
// CHECK-DAG: %[[VG:.+]] = ge.reshape %[[V]] {shape = array<i64: 1, 1, 2, 8, 16>}
// CHECK: kernel.attention %[[QG]], %[[KG]], %[[VG]] {{.*}} -> tensor<1x2x2x8x16xf32>
func.func @tile_import(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %ku = ge.reshape %k {shape = array<i64: 1, 1, 1, 2, 1, 8, 1, 16>} : (tensor<1x2x8x16xf32>) -> tensor<1x1x1x2x1x8x1x16xf32>
  %ke = ge.expand %ku {shape = array<i64: 1, 1, 2, 2, 1, 8, 1, 16>} : (tensor<1x1x1x2x1x8x1x16xf32>) -> tensor<1x1x2x2x1x8x1x16xf32>
  %kr = ge.reshape %ke {shape = array<i64: 1, 4, 8, 16>} : (tensor<1x1x2x2x1x8x1x16xf32>) -> tensor<1x4x8x16xf32>
  %kt = ge.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x8x16xf32>) -> tensor<1x4x16x8xf32>
  %vu = ge.reshape %v {shape = array<i64: 1, 1, 1, 2, 1, 8, 1, 16>} : (tensor<1x2x8x16xf32>) -> tensor<1x1x1x2x1x8x1x16xf32>
  %ve = ge.expand %vu {shape = array<i64: 1, 1, 2, 2, 1, 8, 1, 16>} : (tensor<1x1x1x2x1x8x1x16xf32>) -> tensor<1x1x2x2x1x8x1x16xf32>
  %vr = ge.reshape %ve {shape = array<i64: 1, 4, 8, 16>} : (tensor<1x1x2x2x1x8x1x16xf32>) -> tensor<1x4x8x16xf32>
  %s = ge.matmul %q, %kt : (tensor<1x4x8x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x8x8xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %o = ge.matmul %p, %vr : (tensor<1x4x8x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
  func.return %o : tensor<1x4x8x16xf32>
}
