// RUN: ge-opt %s --split-input-file -p fuse-attention,fuse-attention-layout | filecheck %s

// BERT's heads: Q and V split by (0, 2, 1, 3) transposes, O merged back by one: all three
// become the kernel's layouts; the key's (0, 2, 3, 1) transpose (d on rows) becomes
// key_transposed with key_perm (0, 2, 1, 3): K read in place as rows of d.
// CHECK-LABEL: func.func @head_split_and_merge
// CHECK-SAME: (%[[Q:.+]]: tensor<1x8x2x16xf32>, %[[K:.+]]: tensor<1x8x2x16xf32>, %[[V:.+]]: tensor<1x8x2x16xf32>)
// CHECK-NEXT: %[[O:.+]] = kernel.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f64, key_transposed = true, fused_from = ["ge.transpose", "ge.transpose", "ge.transpose", "ge.matmul", "ge.mul", "ge.softmax", "ge.matmul", "ge.transpose"], query_perm = array<i64: 0, 2, 1, 3>, key_perm = array<i64: 0, 2, 1, 3>, value_perm = array<i64: 0, 2, 1, 3>, output_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>) -> tensor<1x8x2x16xf32>
// CHECK-NEXT: func.return %[[O]]
func.func @head_split_and_merge(%q: tensor<1x8x2x16xf32>, %k: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x16xf32>) -> tensor<1x8x2x16xf32> {
  %qt = ge.transpose %q {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>) -> tensor<1x2x8x16xf32>
  %kt = ge.transpose %k {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x2x16xf32>) -> tensor<1x2x16x8xf32>
  %vt = ge.transpose %v {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>) -> tensor<1x2x8x16xf32>
  %s = ge.matmul %qt, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %c = ge.constant dense<0.25> : tensor<1xf32>
  %s2 = ge.mul %s, %c : (tensor<1x2x8x8xf32>, tensor<1xf32>) -> tensor<1x2x8x8xf32>
  %p = ge.softmax %s2 {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = ge.matmul %p, %vt : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %ot = ge.transpose %o {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x16xf32>) -> tensor<1x8x2x16xf32>
  func.return %ot : tensor<1x8x2x16xf32>
}

// -----

// Two transposes in a row compose into one perm: Q = transpose(transpose(x, p1), p2).
// CHECK-LABEL: func.func @composed
// CHECK: kernel.attention %{{[^,]+}}, %{{[^,]+}}, %{{[^ ]+}} {{{.*}}query_perm = array<i64: 1, 0, 2, 3>}
func.func @composed(%q: tensor<2x1x8x16xf32>, %kt: tensor<1x2x16x8xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %a = ge.transpose %q {perm = array<i64: 0, 2, 1, 3>} : (tensor<2x1x8x16xf32>) -> tensor<2x8x1x16xf32>
  %b = ge.transpose %a {perm = array<i64: 2, 0, 1, 3>} : (tensor<2x8x1x16xf32>) -> tensor<1x2x8x16xf32>
  %s = ge.matmul %b, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = ge.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  func.return %o : tensor<1x2x8x16xf32>
}

// -----

// A transpose another op also reads, and one that moves the last axis, stay.
// CHECK-LABEL: func.func @kept
// CHECK: ge.transpose %{{.+}} {perm = array<i64: 0, 2, 1, 3>}
// CHECK: ge.transpose %{{.+}} {perm = array<i64: 0, 1, 3, 2>}
// CHECK: kernel.attention
// CHECK-NOT: _perm
// CHECK: func.return
func.func @kept(%q: tensor<1x8x2x16xf32>, %kt: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) {
  %qt = ge.transpose %q {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>) -> tensor<1x2x8x16xf32>
  %vt = ge.transpose %v {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x16x8xf32>) -> tensor<1x2x8x16xf32>
  %s = ge.matmul %qt, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = ge.matmul %p, %vt : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  func.return %o, %qt : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
}

// -----

// torch's SDPA export: the NaN guard fuse-attention put after the kernel sits between it
// and the head merge; the guard is elementwise, so the transpose is absorbed and the guard
// follows the kernel's (B, S, H, d) result.
// CHECK-LABEL: func.func @guard_then_merge
// CHECK:      %[[O:.+]] = kernel.attention {{.+}}output_perm = array<i64: 0, 2, 1, 3>} : ({{.+}}) -> tensor<1x8x2x16xf32>
// CHECK-NEXT: %[[E:.+]] = ge.equal %[[O]], %[[O]] : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>)
// CHECK-NEXT: %[[N:.+]] = ge.logical_not %[[E]]
// CHECK-NEXT: %[[Z:.+]] = ge.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[G:.+]] = ge.where %[[N]], %[[Z]], %[[O]] : (tensor<1x8x2x16xi1>, tensor<f32>, tensor<1x8x2x16xf32>) -> tensor<1x8x2x16xf32>
// CHECK-NEXT: func.return %[[G]]
func.func @guard_then_merge(%q: tensor<1x2x8x16xf32>, %kt: tensor<1x2x16x8xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x8x2x16xf32> {
  %s = ge.matmul %q, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %e = ge.equal %p, %p : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xi1>
  %n = ge.logical_not %e : (tensor<1x2x8x8xi1>) -> tensor<1x2x8x8xi1>
  %z = ge.constant dense<0.0> : tensor<f32>
  %g = ge.where %n, %z, %p : (tensor<1x2x8x8xi1>, tensor<f32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = ge.matmul %g, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %ot = ge.transpose %o {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x16xf32>) -> tensor<1x8x2x16xf32>
  func.return %ot : tensor<1x8x2x16xf32>
}

// -----

// The key's layouts: K' with its heads permuted but its rows (Sk) kept is read in place
// without key_transposed; K' = swap(K) after a head split (fuse-attention's key_transposed)
// composes; a perm that moves d elsewhere than the last two axes stays a transpose.
// CHECK-LABEL: func.func @key_layouts
// CHECK:      kernel.attention %{{[^,]+}}, %[[K0:[^,]+]], {{.+}}key_transposed = false, {{.+}}key_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x16xf32>, tensor<1x16x2x8xf32>,
// CHECK:      kernel.attention %{{[^,]+}}, %[[K1:[^,]+]], {{.+}}key_transposed = true, {{.+}}key_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x16xf32>, tensor<1x8x2x16xf32>,
// CHECK:      %[[KT:.+]] = ge.transpose %{{.+}} {perm = array<i64: 0, 3, 2, 1>}
// CHECK-NEXT: kernel.attention %{{[^,]+}}, %[[KT]], {{.+}}key_transposed = false
// CHECK-NOT:  key_perm
// CHECK:      func.return
func.func @key_layouts(%q: tensor<1x2x8x16xf32>, %k0: tensor<1x16x2x8xf32>, %k1: tensor<1x8x2x16xf32>, %k2: tensor<1x8x16x2xf32>, %v: tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) {
  %kt0 = ge.transpose %k0 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x16x2x8xf32>) -> tensor<1x2x16x8xf32>
  %s0 = ge.matmul %q, %kt0 : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %p0 = ge.softmax %s0 {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o0 = ge.matmul %p0, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %kh = ge.transpose %k1 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>) -> tensor<1x2x8x16xf32>
  %kt1 = ge.transpose %kh {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s1 = ge.matmul %q, %kt1 : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %p1 = ge.softmax %s1 {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o1 = ge.matmul %p1, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %kt2 = ge.transpose %k2 {perm = array<i64: 0, 3, 2, 1>} : (tensor<1x8x16x2xf32>) -> tensor<1x2x16x8xf32>
  %s2 = ge.matmul %q, %kt2 : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %p2 = ge.softmax %s2 {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o2 = ge.matmul %p2, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  func.return %o0, %o1, %o2 : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
}

// -----

// LLaMA's query: the head split, then the rotary embedding (cos and sin (1, 1, S, d)), then
// attention. The rope rotates along d, which the (0, 2, 1, 3) transpose keeps last, so it
// moves above the transpose with its tables viewed as (1, S, 1, d), and the transpose
// becomes the kernel's query layout.
// CHECK-LABEL: func.func @rotated_query
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<1x8x2x16xf32>, %[[K:[^:]+]]: tensor<1x2x16x8xf32>, %[[V:[^:]+]]: tensor<1x2x8x16xf32>, %[[C:[^:]+]]: tensor<1x1x8x16xf32>, %[[S:[^:]+]]: tensor<1x1x8x16xf32>)
// CHECK-NEXT: %[[C2:.+]] = ge.reshape %[[C]] {shape = array<i64: 1, 8, 1, 16>}
// CHECK-NEXT: %[[S2:.+]] = ge.reshape %[[S]] {shape = array<i64: 1, 8, 1, 16>}
// CHECK-NEXT: %[[R:.+]] = ge.rope %[[Q]], %[[C2]], %[[S2]] : (tensor<1x8x2x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) -> tensor<1x8x2x16xf32>
// CHECK-NEXT: kernel.attention %[[R]], %[[K]], %[[V]] {{{.*}}query_perm = array<i64: 0, 2, 1, 3>}
// CHECK-NOT:  ge.transpose
func.func @rotated_query(%q: tensor<1x8x2x16xf32>, %kt: tensor<1x2x16x8xf32>, %v: tensor<1x2x8x16xf32>, %cos: tensor<1x1x8x16xf32>, %sin: tensor<1x1x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %qt = ge.transpose %q {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>) -> tensor<1x2x8x16xf32>
  %qr = ge.rope %qt, %cos, %sin : (tensor<1x2x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x2x8x16xf32>
  %s = ge.matmul %qr, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %c = ge.constant dense<0.25> : tensor<1xf32>
  %s2 = ge.mul %s, %c : (tensor<1x2x8x8xf32>, tensor<1xf32>) -> tensor<1x2x8x8xf32>
  %p = ge.softmax %s2 {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = ge.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  func.return %o : tensor<1x2x8x16xf32>
}
