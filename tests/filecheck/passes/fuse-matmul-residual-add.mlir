// RUN: ge-opt %s --split-input-file -p fuse-matmul-add-gelu,fuse-matmul-residual-add | filecheck %s

// BERT's output projection: x + (h @ W + b) as one kernel (the residual on either side).
// CHECK-LABEL: func.func @bias_then_residual
// CHECK-SAME: (%[[H:.+]]: tensor<1x4x8xf32>, %[[W:.+]]: tensor<8x8xf32>, %[[B:.+]]: tensor<8xf32>, %[[X:.+]]: tensor<1x4x8xf32>)
// CHECK-NEXT: %[[Y:.+]] = kernel.matmul %[[H]], %[[W]] bias %[[B]] residual %[[X]] {{{.*}}fused_from = ["ge.matmul", "ge.add", "ge.add"]
// CHECK-NEXT: func.return %[[Y]]
func.func @bias_then_residual(%h: tensor<1x4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %m = ge.matmul %h, %w : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  %a = ge.add %m, %b : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  %r = ge.add %x, %a : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  func.return %r : tensor<1x4x8xf32>
}

// -----

// After an activation: relu(A @ B + b) + x, the residual added last.
// CHECK-LABEL: func.func @activation_then_residual
// CHECK: kernel.matmul %{{.+}}, %{{.+}} bias %{{.+}} residual %{{.+}} {{{.*}}fused_from = ["ge.matmul", "ge.add", "ge.relu", "ge.add"], activation = "relu"
// CHECK-NOT: ge.add
func.func @activation_then_residual(%h: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %a = ge.add %m, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %g = ge.relu %a : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = ge.add %g, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

// A bare product plus a same-shaped value is the bias case (fuse-matmul-add-gelu).
// CHECK-LABEL: func.func @bare_product_is_a_bias
// CHECK: kernel.matmul %{{.+}}, %{{.+}} bias %{{.+}} {
func.func @bare_product_is_a_bias(%h: tensor<4x8xf32>, %w: tensor<8x8xf32>, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %r = ge.add %m, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

// A second bias-like add that broadcasts (8 values per row) is not a residual: it stays.
// CHECK-LABEL: func.func @no_fuse_broadcast_addend
// CHECK: kernel.matmul %{{.+}}, %{{.+}} bias %{{.+}} {
// CHECK-NEXT: ge.add
func.func @no_fuse_broadcast_addend(%h: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %c: tensor<8xf32>) -> tensor<4x8xf32> {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %a = ge.add %m, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %r = ge.add %a, %c : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

// The biased product is also returned: the add must not swallow it.
// CHECK-LABEL: func.func @no_fuse_shared_product
// CHECK: kernel.matmul %{{.+}}, %{{.+}} bias %{{.+}} {
// CHECK-NEXT: ge.add
func.func @no_fuse_shared_product(%h: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %a = ge.add %m, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %r = ge.add %a, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %r, %a : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A kernel that has its residual takes no second one.
// CHECK-LABEL: func.func @one_residual
// CHECK: kernel.matmul {{.+}} residual
// CHECK-NEXT: ge.add
func.func @one_residual(%h: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %a = ge.add %m, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %r = ge.add %a, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %s = ge.add %r, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %s : tensor<4x8xf32>
}

// -----

// GPT-NeoX's parallel block: x + attn(x) + mlp(x). The attention branch's result is not on
// the MLP's way: as the MLP matmul's residual it would make that matmul wait for the
// attention, which the stream scheduler runs beside it. The block input x joins instead.
// CHECK-LABEL: func.func @no_fuse_parallel_branch
// CHECK: %[[A:.+]] = kernel.matmul %x, %wa bias %ba {
// CHECK: %[[M:.+]] = kernel.matmul %x, %wm bias %bm residual %x {
// CHECK: ge.add %[[M]], %[[A]]
func.func @no_fuse_parallel_branch(%x: tensor<4x8xf32>, %wa: tensor<8x8xf32>, %ba: tensor<8xf32>, %wm: tensor<8x8xf32>, %bm: tensor<8xf32>) -> tensor<4x8xf32> {
  %a0 = ge.matmul %x, %wa : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %a = ge.add %a0, %ba : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %m0 = ge.matmul %x, %wm : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %m = ge.add %m0, %bm : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %s = ge.add %m, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = ge.add %s, %a : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

// torch's nn.MultiheadAttention: the out-projection runs on (L N, E) rows, then is viewed as
// (N, L, E) for the skip connection. The add moves above the view and becomes the residual.
// CHECK-LABEL: func.func @residual_behind_a_view
// CHECK:      %[[R:.+]] = ge.reshape %r {shape = array<i64: 4, 16>} : (tensor<1x4x16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT: %[[Y:.+]] = kernel.matmul %h, %w bias %b residual %[[R]] {{.+}}fused_from = ["ge.matmul", "ge.add", "ge.add"]
// CHECK-NEXT: %[[V:.+]] = ge.reshape %[[Y]] {shape = array<i64: 1, 4, 16>}
// CHECK-NEXT: func.return %[[V]]
func.func @residual_behind_a_view(%h: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>, %r: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %a = ge.add %m, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %v = ge.reshape %a {shape = array<i64: 1, 4, 16>} : (tensor<4x16xf32>) -> tensor<1x4x16xf32>
  %y = ge.add %r, %v : (tensor<1x4x16xf32>, tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  func.return %y : tensor<1x4x16xf32>
}

// -----

// Two products, one behind a view: the view is not moved to the other product (which
// would move it back, for ever); the add joins the product it meets as its bias.
// CHECK-LABEL: func.func @two_products
// CHECK:      %[[V:.+]] = ge.reshape %m {shape = array<i64: 4, 16>}
// CHECK-NEXT: kernel.matmul %h, %w bias %[[V]]
func.func @two_products(%h: tensor<4x8xf32>, %w: tensor<8x16xf32>, %g: tensor<1x4x8xf32>) -> tensor<4x16xf32> {
  %m = ge.matmul %g, %w : (tensor<1x4x8xf32>, tensor<8x16xf32>) -> tensor<1x4x16xf32>
  %n = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %v = ge.reshape %m {shape = array<i64: 4, 16>} : (tensor<1x4x16xf32>) -> tensor<4x16xf32>
  %y = ge.add %v, %n : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  func.return %y : tensor<4x16xf32>
}
