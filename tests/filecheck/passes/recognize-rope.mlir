// RUN: ge-opt %s --split-input-file -p recognize-rope | filecheck %s

// HF transformers' apply_rotary_pos_emb as torch.onnx.export writes it: the query (B, H, S,
// D) times cos, plus rotate_half(q) = concat(-q[..., D/2:], q[..., :D/2]) times sin, with
// cos and sin of shape (1, 1, S, D): one ge.rope.
// CHECK-LABEL: func.func @llama_query
// CHECK-NEXT:    %[[Y:.+]] = ge.rope %q, %cos, %sin : (tensor<1x2x5x8xf32>, tensor<1x1x5x8xf32>, tensor<1x1x5x8xf32>) -> tensor<1x2x5x8xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @llama_query(%q: tensor<1x2x5x8xf32>, %cos: tensor<1x1x5x8xf32>, %sin: tensor<1x1x5x8xf32>) -> tensor<1x2x5x8xf32> {
  %x1 = ge.slice %q {starts = array<i64: 0>, ends = array<i64: 4>, axes = array<i64: 3>, steps = array<i64: 1>} : (tensor<1x2x5x8xf32>) -> tensor<1x2x5x4xf32>
  %x2 = ge.slice %q {starts = array<i64: 4>, ends = array<i64: 9223372036854775807>, axes = array<i64: -1>, steps = array<i64: 1>} : (tensor<1x2x5x8xf32>) -> tensor<1x2x5x4xf32>
  %n = ge.neg %x2 : (tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  %r = ge.concat %n, %x1 {axis = -1 : i64} : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x8xf32>
  %a = ge.mul %q, %cos : (tensor<1x2x5x8xf32>, tensor<1x1x5x8xf32>) -> tensor<1x2x5x8xf32>
  %b = ge.mul %r, %sin : (tensor<1x2x5x8xf32>, tensor<1x1x5x8xf32>) -> tensor<1x2x5x8xf32>
  %y = ge.add %a, %b : (tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>) -> tensor<1x2x5x8xf32>
  func.return %y : tensor<1x2x5x8xf32>
}

// -----

// The operands in the other orders, and cos and sin of shape (S, D).
// CHECK-LABEL: func.func @other_orders
// CHECK-NEXT:    %[[Y:.+]] = ge.rope %k, %cos, %sin
// CHECK-NEXT:    func.return %[[Y]]
func.func @other_orders(%k: tensor<3x6xf32>, %cos: tensor<3x6xf32>, %sin: tensor<3x6xf32>) -> tensor<3x6xf32> {
  %x1 = ge.slice %k {starts = array<i64: 0>, ends = array<i64: 3>, axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<3x6xf32>) -> tensor<3x3xf32>
  %x2 = ge.slice %k {starts = array<i64: 3>, ends = array<i64: 6>, axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<3x6xf32>) -> tensor<3x3xf32>
  %n = ge.neg %x2 : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %r = ge.concat %n, %x1 {axis = 1 : i64} : (tensor<3x3xf32>, tensor<3x3xf32>) -> tensor<3x6xf32>
  %b = ge.mul %sin, %r : (tensor<3x6xf32>, tensor<3x6xf32>) -> tensor<3x6xf32>
  %a = ge.mul %cos, %k : (tensor<3x6xf32>, tensor<3x6xf32>) -> tensor<3x6xf32>
  %y = ge.add %b, %a : (tensor<3x6xf32>, tensor<3x6xf32>) -> tensor<3x6xf32>
  func.return %y : tensor<3x6xf32>
}

// -----

// Position 0: cos is all ones and `simplify` folded x * cos into x; the rope takes a cos of
// ones.
// CHECK-LABEL: func.func @folded_cos
// CHECK-NEXT:    %[[C:.+]] = ge.constant dense<1.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[Y:.+]] = ge.rope %x, %[[C]], %sin
// CHECK-NEXT:    func.return %[[Y]]
func.func @folded_cos(%x: tensor<1x2x1x4xf32>, %sin: tensor<1x1x1x4xf32>) -> tensor<1x2x1x4xf32> {
  %x1 = ge.slice %x {starts = array<i64: 0>, ends = array<i64: 2>, axes = array<i64: 3>, steps = array<i64: 1>} : (tensor<1x2x1x4xf32>) -> tensor<1x2x1x2xf32>
  %x2 = ge.slice %x {starts = array<i64: 2>, ends = array<i64: 4>, axes = array<i64: 3>, steps = array<i64: 1>} : (tensor<1x2x1x4xf32>) -> tensor<1x2x1x2xf32>
  %n = ge.neg %x2 : (tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32>
  %r = ge.concat %n, %x1 {axis = 3 : i64} : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x1x4xf32>
  %b = ge.mul %r, %sin : (tensor<1x2x1x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x1x4xf32>
  %y = ge.add %x, %b : (tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x1x4xf32>
  func.return %y : tensor<1x2x1x4xf32>
}

// -----

// concat(-x1, x2) is not rotate_half, and the rotation of another value is not this one's:
// both stay as they are.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:     ge.rope
func.func @left_alone(%x: tensor<2x4xf32>, %z: tensor<2x4xf32>, %cos: tensor<4xf32>, %sin: tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %x1 = ge.slice %x {starts = array<i64: 0>, ends = array<i64: 2>, axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2x2xf32>
  %x2 = ge.slice %x {starts = array<i64: 2>, ends = array<i64: 4>, axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2x2xf32>
  %n = ge.neg %x1 : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = ge.concat %n, %x2 {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x4xf32>
  %a = ge.mul %x, %cos : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %b = ge.mul %r, %sin : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %y = ge.add %a, %b : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %z1 = ge.slice %z {starts = array<i64: 0>, ends = array<i64: 2>, axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2x2xf32>
  %z2 = ge.slice %z {starts = array<i64: 2>, ends = array<i64: 4>, axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2x2xf32>
  %zn = ge.neg %z2 : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %zr = ge.concat %zn, %z1 {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x4xf32>
  %c = ge.mul %x, %cos : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %d = ge.mul %zr, %sin : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %w = ge.add %c, %d : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %y, %w : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// GPT-NeoX / Phi partial rotary (rotary_pct): the first 4 of 8 columns rotate, the export
// slices them off and concatenates the other 4 back: one ge.rope with rotary_dim 4, its
// tables of 4 columns.
// CHECK-LABEL: func.func @partial_rotary
// CHECK-SAME:    (%[[X:.+]]: tensor<1x2x3x8xf32>, %[[COS:.+]]: tensor<3x4xf32>, %[[SIN:.+]]: tensor<3x4xf32>)
// CHECK-NEXT:    %[[Y:.+]] = ge.rope %[[X]], %[[COS]], %[[SIN]] {rotary_dim = 4 : i64} : (tensor<1x2x3x8xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<1x2x3x8xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @partial_rotary(%x: tensor<1x2x3x8xf32>, %cos: tensor<3x4xf32>, %sin: tensor<3x4xf32>) -> tensor<1x2x3x8xf32> {
  %rot = ge.slice %x {starts = array<i64: 0>, ends = array<i64: 4>, axes = array<i64: 3>, steps = array<i64: 1>} : (tensor<1x2x3x8xf32>) -> tensor<1x2x3x4xf32>
  %pass = ge.slice %x {starts = array<i64: 4>, ends = array<i64: 9223372036854775807>, axes = array<i64: -1>, steps = array<i64: 1>} : (tensor<1x2x3x8xf32>) -> tensor<1x2x3x4xf32>
  %x1 = ge.slice %rot {starts = array<i64: 0>, ends = array<i64: 2>, axes = array<i64: 3>, steps = array<i64: 1>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x3x2xf32>
  %x2 = ge.slice %rot {starts = array<i64: 2>, ends = array<i64: 4>, axes = array<i64: 3>, steps = array<i64: 1>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x3x2xf32>
  %n = ge.neg %x2 : (tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32>
  %r = ge.concat %n, %x1 {axis = 3 : i64} : (tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x3x4xf32>
  %a = ge.mul %rot, %cos : (tensor<1x2x3x4xf32>, tensor<3x4xf32>) -> tensor<1x2x3x4xf32>
  %b = ge.mul %r, %sin : (tensor<1x2x3x4xf32>, tensor<3x4xf32>) -> tensor<1x2x3x4xf32>
  %e = ge.add %a, %b : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %y = ge.concat %e, %pass {axis = -1 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x8xf32>
  func.return %y : tensor<1x2x3x8xf32>
}
