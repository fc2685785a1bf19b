// RUN: ge-opt %s --split-input-file -p fuse-attention | filecheck %s

// The whole block: transpose, matmul, scale, mask add, softmax, dropout, matmul.
// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:.+]]: tensor<2x4x8xf32>, %[[K:.+]]: tensor<2x4x8xf32>, %[[V:.+]]: tensor<2x4x8xf32>, %[[M:.+]]: tensor<1x4xf32>)
// CHECK-NEXT: %[[A:.+]] = kernel.attention %[[Q]], %[[K]], %[[V]] mask %[[M]] {scale = 0.353553{{[0-9]+}} : f64, key_transposed = true, fused_from = ["ge.transpose", "ge.matmul", "ge.div", "ge.add", "ge.softmax", "ge.dropout", "ge.matmul"], dropout_ratio = 1.000000e-01 : f64}
// CHECK-NEXT: func.return %[[A]]
func.func @attention(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>, %mask: tensor<1x4xf32>) -> tensor<2x4x8xf32> {
  %kt = ge.transpose %k {perm = array<i64: 0, 2, 1>} : (tensor<2x4x8xf32>) -> tensor<2x8x4xf32>
  %s = ge.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32>
  %c = ge.constant dense<2.82842712> : tensor<f32>
  %sc = ge.div %s, %c : (tensor<2x4x4xf32>, tensor<f32>) -> tensor<2x4x4xf32>
  %sm = ge.add %sc, %mask : (tensor<2x4x4xf32>, tensor<1x4xf32>) -> tensor<2x4x4xf32>
  %p = ge.softmax %sm {axis = -1 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %d = ge.dropout %p {ratio = 0.1 : f64, is_training = false, seed = 0 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %o = ge.matmul %d, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %o : tensor<2x4x8xf32>
}

// -----

// After fuse-matmul-scale and fuse-softmax-dropout the kernels still fuse.
// CHECK-LABEL: func.func @from_kernels
// CHECK-NEXT: kernel.attention %{{.+}}, %{{.+}}, %{{.+}} {scale = 2.500000e-01 : f64, key_transposed = true, fused_from = ["ge.matmul", "ge.softmax", "ge.matmul"], dropout_ratio = 1.000000e-01 : f64}
func.func @from_kernels(%q: tensor<4x16xf32>, %k: tensor<4x16xf32>, %v: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %s = kernel.matmul %q, %k {transpose_a = false, transpose_b = true, alpha = 0.25 : f64, fused_from = ["ge.matmul"]} : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x4xf32>
  %p = kernel.softmax %s {axis = -1 : i64, scale = 1.0 : f64, dropout_ratio = 0.1 : f64, fused_from = ["ge.softmax"]} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %o = ge.matmul %p, %v : (tensor<4x4xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  func.return %o : tensor<4x16xf32>
}

// -----

// The attention probabilities are returned too (e.g. for visualisation): no fusion.
// CHECK-LABEL: func.func @no_fuse_probabilities_used
// CHECK: ge.softmax
// CHECK: ge.matmul
func.func @no_fuse_probabilities_used(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x4xf32>) {
  %s = ge.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %o = ge.matmul %p, %v : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %o, %p : tensor<4x8xf32>, tensor<4x4xf32>
}

// -----

// A softmax over another axis is not attention.
// CHECK-LABEL: func.func @no_fuse_other_axis
// CHECK: ge.softmax
func.func @no_fuse_other_axis(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = ge.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %p = ge.softmax %s {axis = 0 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %o = ge.matmul %p, %v : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %o : tensor<4x8xf32>
}

// -----

// A training-mode dropout between softmax and the second matmul keeps them apart.
// CHECK-LABEL: func.func @no_fuse_training_dropout
// CHECK: ge.dropout
// CHECK-NOT: kernel.attention
func.func @no_fuse_training_dropout(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = ge.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %d = ge.dropout %p {ratio = 0.1 : f64, is_training = true, seed = 0 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %o = ge.matmul %d, %v : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %o : tensor<4x8xf32>
}

// -----

// GPT-2's causal select where(keep, scores, -10000) with a constant condition that keeps a
// score of every row: the additive mask where(keep, 0, -10000) as a constant.
// CHECK-LABEL: func.func @causal_select
// CHECK-NEXT: %[[M:.+]] = ge.constant dense<{{\[\[}}[0.000000e+00, -1.000000e+04], [0.000000e+00, 0.000000e+00]]]> : tensor<1x2x2xf32>
// CHECK-NEXT: kernel.attention %q, %kt, %v mask %[[M]] {scale = 1.250000e-01 : f64, key_transposed = false, fused_from = ["ge.matmul", "ge.mul", "ge.where", "ge.softmax", "ge.matmul"]}
func.func @causal_select(%q: tensor<2x2x8xf32>, %kt: tensor<2x8x2xf32>, %v: tensor<2x2x8xf32>) -> tensor<2x2x8xf32> {
  %keep = ge.constant dense<[[[true, false], [true, true]]]> : tensor<1x2x2xi1>
  %fill = ge.constant dense<-1.0e4> : tensor<f32>
  %c = ge.constant dense<0.125> : tensor<f32>
  %s = ge.matmul %q, %kt : (tensor<2x2x8xf32>, tensor<2x8x2xf32>) -> tensor<2x2x2xf32>
  %sc = ge.mul %s, %c : (tensor<2x2x2xf32>, tensor<f32>) -> tensor<2x2x2xf32>
  %w = ge.where %keep, %sc, %fill : (tensor<1x2x2xi1>, tensor<2x2x2xf32>, tensor<f32>) -> tensor<2x2x2xf32>
  %p = ge.softmax %w {axis = -1 : i64} : (tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %o = ge.matmul %p, %v : (tensor<2x2x2xf32>, tensor<2x2x8xf32>) -> tensor<2x2x8xf32>
  func.return %o : tensor<2x2x8xf32>
}

// -----

// A computed condition with a fill that swallows any score (HF's finfo.min): the mask is
// where(keep, 0, fill), computed.
// CHECK-LABEL: func.func @computed_select
// CHECK: %[[M:.+]] = ge.where %keep, %{{.+}}, %{{.+}} : (tensor<2x1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x4xf32>
// CHECK-NEXT: kernel.attention %q, %kt, %v mask %[[M]]
func.func @computed_select(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>, %v: tensor<2x4x8xf32>, %keep: tensor<2x1x4xi1>) -> tensor<2x4x8xf32> {
  %fill = ge.constant dense<-3.40282347e+38> : tensor<f32>
  %s = ge.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32>
  %w = ge.where %keep, %s, %fill : (tensor<2x1x4xi1>, tensor<2x4x4xf32>, tensor<f32>) -> tensor<2x4x4xf32>
  %p = ge.softmax %w {axis = -1 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %o = ge.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %o : tensor<2x4x8xf32>
}

// -----

// -10000 with a computed condition (a row may be wholly masked), or with a constant one that
// masks a whole row: the select is not an add; no fusion.
// CHECK-LABEL: func.func @no_fuse_select_that_is_not_an_add
// CHECK-NOT: kernel.attention
func.func @no_fuse_select_that_is_not_an_add(%q: tensor<2x8xf32>, %kt: tensor<8x2xf32>, %v: tensor<2x8xf32>, %keep: tensor<2x2xi1>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %fill = ge.constant dense<-1.0e4> : tensor<f32>
  %s = ge.matmul %q, %kt : (tensor<2x8xf32>, tensor<8x2xf32>) -> tensor<2x2xf32>
  %w = ge.where %keep, %s, %fill : (tensor<2x2xi1>, tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  %p = ge.softmax %w {axis = -1 : i64} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %o = ge.matmul %p, %v : (tensor<2x2xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %rows = ge.constant dense<[[true, true], [false, false]]> : tensor<2x2xi1>
  %s2 = ge.matmul %q, %kt : (tensor<2x8xf32>, tensor<8x2xf32>) -> tensor<2x2xf32>
  %w2 = ge.where %rows, %s2, %fill : (tensor<2x2xi1>, tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  %p2 = ge.softmax %w2 {axis = -1 : i64} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %o2 = ge.matmul %p2, %v : (tensor<2x2xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %o, %o2 : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// The old GPT-2: where(causal, scores, -10000), a row-keeping constant condition, and then
// its padding mask added. The padding can mask every key the condition keeps (left padding),
// and such a row's select gives the other keys exactly -10000 where the add would give them
// score - 10000: with another mask the select is not an add; no fusion.
// CHECK-LABEL: func.func @no_fuse_finite_select_beside_padding
// CHECK-NOT: kernel.attention
func.func @no_fuse_finite_select_beside_padding(%q: tensor<2x8xf32>, %kt: tensor<8x2xf32>, %v: tensor<2x8xf32>, %pad: tensor<1x2xf32>) -> tensor<2x8xf32> {
  %fill = ge.constant dense<-1.0e4> : tensor<f32>
  %keep = ge.constant dense<[[true, false], [true, true]]> : tensor<2x2xi1>
  %s = ge.matmul %q, %kt : (tensor<2x8xf32>, tensor<8x2xf32>) -> tensor<2x2xf32>
  %w = ge.where %keep, %s, %fill : (tensor<2x2xi1>, tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  %m = ge.add %w, %pad : (tensor<2x2xf32>, tensor<1x2xf32>) -> tensor<2x2xf32>
  %p = ge.softmax %m {axis = -1 : i64} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %o = ge.matmul %p, %v : (tensor<2x2xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %o : tensor<2x8xf32>
}

// -----

// masked_fill(mask == 0, -inf): where(masked, fill, scores); the mask fills where masked.
// CHECK-LABEL: func.func @masked_fill
// CHECK: %[[M:.+]] = ge.where %masked, %{{.+}}, %{{.+}} : (tensor<1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<1x4xf32>
// CHECK-NEXT: kernel.attention %q, %kt, %v mask %[[M]]
func.func @masked_fill(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>, %masked: tensor<1x4xi1>) -> tensor<4x8xf32> {
  %fill = ge.constant dense<"0x000080FF"> : tensor<f32>
  %s = ge.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %w = ge.where %masked, %fill, %s : (tensor<1x4xi1>, tensor<f32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %p = ge.softmax %w {axis = -1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %o = ge.matmul %p, %v : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %o : tensor<4x8xf32>
}

// -----

// torch's SDPA with a boolean mask: where(keep, 0, -inf) added, and the NaN guard
// where(isnan(P), 0, P) after the softmax, which moves to the kernel's output (new ops: the
// kernel's provenance does not claim the guard, which its own kernel will).
// CHECK-LABEL: func.func @sdpa_nan_guard
// CHECK:      %[[A:.+]] = kernel.attention %q, %kt, %v mask %{{.+}} {scale = 1.000000e+00 : f64, key_transposed = false, fused_from = ["ge.matmul", "ge.add", "ge.softmax", "ge.matmul"]}
// CHECK-NEXT: %[[E:.+]] = ge.equal %[[A]], %[[A]]
// CHECK-NEXT: %[[N:.+]] = ge.logical_not %[[E]]
// CHECK-NEXT: %[[Z:.+]] = ge.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[G:.+]] = ge.where %[[N]], %[[Z]], %[[A]]
// CHECK-NEXT: func.return %[[G]]
func.func @sdpa_nan_guard(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>, %v: tensor<2x4x8xf32>, %keep: tensor<2x1x4xi1>) -> tensor<2x4x8xf32> {
  %zero = ge.constant dense<0.0> : tensor<1xf32>
  %ninf = ge.constant dense<"0x000080FF"> : tensor<1xf32>
  %mask = ge.where %keep, %zero, %ninf : (tensor<2x1x4xi1>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x4xf32>
  %s = ge.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32>
  %sm = ge.add %s, %mask : (tensor<2x4x4xf32>, tensor<2x1x4xf32>) -> tensor<2x4x4xf32>
  %p = ge.softmax %sm {axis = -1 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %eq = ge.equal %p, %p : (tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<2x4x4xi1>
  %nan = ge.logical_not %eq : (tensor<2x4x4xi1>) -> tensor<2x4x4xi1>
  %g = ge.where %nan, %zero, %p : (tensor<2x4x4xi1>, tensor<1xf32>, tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %o = ge.matmul %g, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %o : tensor<2x4x8xf32>
}

// -----

// T5: scores + position bias + padding mask (two adds): one mask, their sum.
// CHECK-LABEL: func.func @two_masks
// CHECK:      %[[M:.+]] = ge.add %bias, %pad : (tensor<1x4x4xf32>, tensor<2x1x4xf32>) -> tensor<2x4x4xf32>
// CHECK-NEXT: kernel.attention %q, %kt, %v mask %[[M]] {scale = 1.000000e+00 : f64, key_transposed = false, fused_from = ["ge.matmul", "ge.add", "ge.add", "ge.softmax", "ge.matmul"]}
func.func @two_masks(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>, %v: tensor<2x4x8xf32>, %bias: tensor<1x4x4xf32>, %pad: tensor<2x1x4xf32>) -> tensor<2x4x8xf32> {
  %s = ge.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32>
  %a = ge.add %s, %bias : (tensor<2x4x4xf32>, tensor<1x4x4xf32>) -> tensor<2x4x4xf32>
  %b = ge.add %a, %pad : (tensor<2x4x4xf32>, tensor<2x1x4xf32>) -> tensor<2x4x4xf32>
  %p = ge.softmax %b {axis = -1 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %o = ge.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %o : tensor<2x4x8xf32>
}

// -----

// The zoo's GPT-2 (opset 10): w * b - 10000 * (1 - b), b a constant causal 0/1 buffer: the
// select where(b, w, -10000), so the additive mask where(b, 0, -10000).
// CHECK-LABEL: func.func @multiplicative_mask
// CHECK-NEXT: %[[M:.+]] = ge.constant dense<{{\[\[}}0.000000e+00, -1.000000e+04], [0.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT: kernel.attention %q, %kt, %v mask %[[M]] {scale = 1.000000e+00 : f64, key_transposed = false, fused_from = ["ge.matmul", "ge.mul", "ge.sub", "ge.softmax", "ge.matmul"]}
func.func @multiplicative_mask(%q: tensor<2x2x8xf32>, %kt: tensor<2x8x2xf32>, %v: tensor<2x2x8xf32>) -> tensor<2x2x8xf32> {
  %b = ge.constant dense<[[1.0, 0.0], [1.0, 1.0]]> : tensor<2x2xf32>
  %c = ge.constant dense<[[0.0, 1.0e4], [0.0, 0.0]]> : tensor<2x2xf32>
  %s = ge.matmul %q, %kt : (tensor<2x2x8xf32>, tensor<2x8x2xf32>) -> tensor<2x2x2xf32>
  %w = ge.mul %s, %b : (tensor<2x2x2xf32>, tensor<2x2xf32>) -> tensor<2x2x2xf32>
  %m = ge.sub %w, %c : (tensor<2x2x2xf32>, tensor<2x2xf32>) -> tensor<2x2x2xf32>
  %p = ge.softmax %m {axis = -1 : i64} : (tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %o = ge.matmul %p, %v : (tensor<2x2x2xf32>, tensor<2x2x8xf32>) -> tensor<2x2x8xf32>
  func.return %o : tensor<2x2x8xf32>
}

// -----

// b not 0/1, or c not 0 where b keeps the score: not a select; no fusion.
// CHECK-LABEL: func.func @no_fuse_product_that_is_not_a_select
// CHECK-NOT: kernel.attention
func.func @no_fuse_product_that_is_not_a_select(%q: tensor<2x8xf32>, %kt: tensor<8x2xf32>, %v: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %b = ge.constant dense<[[1.0, 0.5], [1.0, 1.0]]> : tensor<2x2xf32>
  %b2 = ge.constant dense<[[1.0, 0.0], [1.0, 1.0]]> : tensor<2x2xf32>
  %c = ge.constant dense<[[0.0, 1.0e4], [3.0, 0.0]]> : tensor<2x2xf32>
  %s = ge.matmul %q, %kt : (tensor<2x8xf32>, tensor<8x2xf32>) -> tensor<2x2xf32>
  %w = ge.mul %s, %b : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %m = ge.sub %w, %c : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %p = ge.softmax %m {axis = -1 : i64} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %o = ge.matmul %p, %v : (tensor<2x2xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %s2 = ge.matmul %q, %kt : (tensor<2x8xf32>, tensor<8x2xf32>) -> tensor<2x2xf32>
  %w2 = ge.mul %s2, %b2 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %m2 = ge.sub %w2, %c : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %p2 = ge.softmax %m2 {axis = -1 : i64} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %o2 = ge.matmul %p2, %v : (tensor<2x2xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %o, %o2 : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// torch's SDPA export scales Q and K' by sqrt(scale) each: both join the kernel's scale
// (0.5 * 0.5), so Q comes straight from its producer.
// CHECK-LABEL: func.func @sdpa_scaled_operands
// CHECK-NEXT: %[[A:.+]] = kernel.attention %q, %kt, %v {scale = 2.500000e-01 : f64, key_transposed = false, fused_from = ["ge.mul", "ge.mul", "ge.matmul", "ge.softmax", "ge.matmul"]}
// CHECK-NEXT: func.return %[[A]]
func.func @sdpa_scaled_operands(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>, %v: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %c = ge.constant dense<0.5> : tensor<f32>
  %qs = ge.mul %q, %c : (tensor<2x4x8xf32>, tensor<f32>) -> tensor<2x4x8xf32>
  %ks = ge.mul %kt, %c : (tensor<2x8x4xf32>, tensor<f32>) -> tensor<2x8x4xf32>
  %s = ge.matmul %qs, %ks : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %o = ge.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %o : tensor<2x4x8xf32>
}

// -----

// A negative factor on Q stays a multiplication (the fused kernel takes positive scales).
// CHECK-LABEL: func.func @negative_operand_factor
// CHECK: %[[QS:.+]] = ge.mul %q
// CHECK: kernel.attention %[[QS]], %kt, %v {scale = 1.000000e+00 : f64
func.func @negative_operand_factor(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>, %v: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %c = ge.constant dense<-0.5> : tensor<f32>
  %qs = ge.mul %q, %c : (tensor<2x4x8xf32>, tensor<f32>) -> tensor<2x4x8xf32>
  %s = ge.matmul %qs, %kt : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %o = ge.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %o : tensor<2x4x8xf32>
}
