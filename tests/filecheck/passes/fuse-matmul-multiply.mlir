// RUN: ge-opt %s --split-input-file -p fuse-matmul-add-gelu,fuse-matmul-multiply,fuse-matmul-residual-add | filecheck %s

// LLaMA's SwiGLU: silu(h @ Wg) * (h @ Wu). The gate's matmul carries its activation; the
// up projection's takes the gate as its multiplier (silu keeps a scratch tile, which with
// the multiplier's would narrow the gate GEMM's tiles).
// CHECK-LABEL: func.func @swiglu
// CHECK-SAME: (%[[H:.+]]: tensor<1x4x8xf32>, %[[WG:.+]]: tensor<8x16xf32>, %[[WU:.+]]: tensor<8x16xf32>)
// CHECK-NEXT: %[[S:.+]] = kernel.matmul %[[H]], %[[WG]] {{{.*}}fused_from = ["ge.matmul", "ge.silu"], activation = "silu"
// CHECK-NEXT: %[[Y:.+]] = kernel.matmul %[[H]], %[[WU]] multiplier %[[S]] {{{.*}}fused_from = ["ge.matmul", "ge.mul"]
// CHECK-NEXT: func.return %[[Y]]
func.func @swiglu(%h: tensor<1x4x8xf32>, %wg: tensor<8x16xf32>, %wu: tensor<8x16xf32>) -> tensor<1x4x16xf32> {
  %g = ge.matmul %h, %wg : (tensor<1x4x8xf32>, tensor<8x16xf32>) -> tensor<1x4x16xf32>
  %s = ge.silu %g : (tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %u = ge.matmul %h, %wu : (tensor<1x4x8xf32>, tensor<8x16xf32>) -> tensor<1x4x16xf32>
  %y = ge.mul %s, %u : (tensor<1x4x16xf32>, tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  func.return %y : tensor<1x4x16xf32>
}

// -----

// The up projection on the left (up * gelu(gate), T5 v1.1's GeGLU order) and a bias on
// the gate: the up projection's matmul takes the activated gate.
// CHECK-LABEL: func.func @geglu_up_first
// CHECK: %[[G:.+]] = kernel.matmul %{{.+}}, %{{.+}} bias %{{.+}} {{{.*}}activation = "gelu"
// CHECK-NEXT: kernel.matmul %{{.+}}, %{{.+}} multiplier %[[G]] {{{.*}}fused_from = ["ge.matmul", "ge.mul"]
// CHECK-NOT: ge.mul
func.func @geglu_up_first(%h: tensor<4x8xf32>, %wg: tensor<8x16xf32>, %wu: tensor<8x16xf32>, %bg: tensor<16xf32>) -> tensor<4x16xf32> {
  %g = ge.matmul %h, %wg : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %gb = ge.add %g, %bg : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %a = ge.gelu %gb : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %u = ge.matmul %h, %wu : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %y = ge.mul %u, %a : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  func.return %y : tensor<4x16xf32>
}

// -----

// A layer scale after a biased projection (CaiT, ConvNeXt: gamma * (x W + b)), then the
// skip connection: bias, multiplier and residual in one kernel.
// CHECK-LABEL: func.func @layer_scale_then_residual
// CHECK-SAME: (%[[H:.+]]: tensor<4x8xf32>, %[[W:.+]]: tensor<8x8xf32>, %[[B:.+]]: tensor<8xf32>, %[[G:.+]]: tensor<8xf32>, %[[X:.+]]: tensor<4x8xf32>)
// CHECK-NEXT: %[[Y:.+]] = kernel.matmul %[[H]], %[[W]] bias %[[B]] residual %[[X]] multiplier %[[G]] {{{.*}}fused_from = ["ge.matmul", "ge.add", "ge.mul", "ge.add"]
// CHECK-NEXT: func.return %[[Y]]
func.func @layer_scale_then_residual(%h: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %gamma: tensor<8xf32>, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %a = ge.add %m, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %s = ge.mul %gamma, %a : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = ge.add %s, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

// A relu keeps no scratch tile: with two matmul factors, the mul's left one takes it.
// CHECK-LABEL: func.func @reglu_left_takes_it
// CHECK: %[[U:.+]] = ge.matmul
// CHECK-NEXT: kernel.matmul %{{.+}}, %{{.+}} multiplier %[[U]] {{{.*}}fused_from = ["ge.matmul", "ge.relu", "ge.mul"], activation = "relu"
func.func @reglu_left_takes_it(%h: tensor<4x8xf32>, %wg: tensor<8x16xf32>, %wu: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %g = ge.matmul %h, %wg : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %a = ge.relu %g : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %u = ge.matmul %h, %wu : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %y = ge.mul %a, %u : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  func.return %y : tensor<4x16xf32>
}

// -----

// A decoding step: one row against the whole weight. The two GEMMs, whose tiles leave cores
// free, run side by side; fused, one would wait for the other, so the product stays.
// CHECK-LABEL: func.func @no_fuse_decoding_step
// CHECK: %[[G:.+]] = kernel.matmul %{{.+}}, %{{.+}} {{{.*}}activation = "silu"
// CHECK-NEXT: %[[U:.+]] = ge.matmul
// CHECK-NEXT: ge.mul %[[G]], %[[U]]
func.func @no_fuse_decoding_step(%h: tensor<1x64xf32>, %wg: tensor<64x16xf32>, %wu: tensor<64x16xf32>) -> tensor<1x16xf32> {
  %g = ge.matmul %h, %wg : (tensor<1x64xf32>, tensor<64x16xf32>) -> tensor<1x16xf32>
  %s = ge.silu %g : (tensor<1x16xf32>) -> tensor<1x16xf32>
  %u = ge.matmul %h, %wu : (tensor<1x64xf32>, tensor<64x16xf32>) -> tensor<1x16xf32>
  %y = ge.mul %s, %u : (tensor<1x16xf32>, tensor<1x16xf32>) -> tensor<1x16xf32>
  func.return %y : tensor<1x16xf32>
}

// -----

// A factor that would grow the product (a batch the matmul does not have) stays a mul.
// CHECK-LABEL: func.func @no_fuse_growing_factor
// CHECK: %[[M:.+]] = ge.matmul
// CHECK-NEXT: ge.mul %[[M]]
func.func @no_fuse_growing_factor(%h: tensor<4x8xf32>, %w: tensor<8x8xf32>, %f: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %y = ge.mul %m, %f : (tensor<4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %y : tensor<2x4x8xf32>
}

// -----

// The product is also returned: the mul must not swallow it.
// CHECK-LABEL: func.func @no_fuse_shared_product
// CHECK: %[[M:.+]] = kernel.matmul %{{.+}}, %{{.+}} {{{.*}}activation = "silu"
// CHECK-NEXT: ge.mul %[[M]]
func.func @no_fuse_shared_product(%h: tensor<4x8xf32>, %w: tensor<8x8xf32>, %u: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %s = ge.silu %m : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = ge.mul %s, %u : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %y, %s : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Squaring a product (x * x) is not a multiplier: the kernel would read its own output.
// CHECK-LABEL: func.func @no_fuse_square
// CHECK: %[[M:.+]] = ge.matmul
// CHECK-NEXT: ge.mul %[[M]], %[[M]]
func.func @no_fuse_square(%h: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %m = ge.matmul %h, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %y = ge.mul %m, %m : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}

// -----

// diffusers' GEGLU: h, gate = proj(x).chunk(2, -1); h * gelu(gate), chunk exported as two
// slices. Each half becomes a matmul by its weight and bias columns, and they fuse as a
// gated unit: two GEMMs, no copy kernel, no elementwise kernel.
// CHECK-LABEL: func.func @geglu_of_one_projection
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK-DAG: %[[WG:.+]] = ge.constant dense<{{\[\[}}3.000000e+00, 4.000000e+00]
// CHECK-DAG: %[[BG:.+]] = ge.constant dense<[3.000000e+00, 4.000000e+00]>
// CHECK-DAG: %[[WH:.+]] = ge.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00]
// CHECK-DAG: %[[BH:.+]] = ge.constant dense<[1.000000e+00, 2.000000e+00]>
// CHECK: %[[G:.+]] = kernel.matmul %[[X]], %[[WG]] bias %[[BG]] {{{.*}}fused_from = ["ge.matmul", "ge.add", "ge.slice", "ge.gelu"], activation = "gelu"
// CHECK-NEXT: %[[Y:.+]] = kernel.matmul %[[X]], %[[WH]] bias %[[BH]] multiplier %[[G]] {{{.*}}fused_from = ["ge.matmul", "ge.add", "ge.slice", "ge.mul"]
// CHECK-NEXT: func.return %[[Y]]
func.func @geglu_of_one_projection(%x: tensor<4x8xf32>) -> tensor<4x2xf32> {
  %w = ge.constant dense<[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<8x4xf32>
  %b = ge.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %m = ge.matmul %x, %w : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %p = ge.add %m, %b : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4x4xf32>
  %h = ge.slice %p {starts = array<i64: 0>, ends = array<i64: 2>, axes = array<i64: -1>, steps = array<i64: 1>} : (tensor<4x4xf32>) -> tensor<4x2xf32>
  %gate = ge.slice %p {starts = array<i64: 2>, ends = array<i64: 9223372036854775807>, axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<4x4xf32>) -> tensor<4x2xf32>
  %a = ge.gelu %gate : (tensor<4x2xf32>) -> tensor<4x2xf32>
  %y = ge.mul %h, %a : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  func.return %y : tensor<4x2xf32>
}

// -----

// Phi-3's gate_up_proj cut by a split: silu(gate) * up.
// CHECK-LABEL: func.func @swiglu_of_a_split
// CHECK: %[[G:.+]] = kernel.matmul %{{.+}}, %{{.+}} {{{.*}}fused_from = ["ge.matmul", "ge.split", "ge.silu"], activation = "silu"
// CHECK-NEXT: kernel.matmul %{{.+}}, %{{.+}} multiplier %[[G]] {{{.*}}fused_from = ["ge.matmul", "ge.split", "ge.mul"]
// CHECK-NOT: ge.split
func.func @swiglu_of_a_split(%x: tensor<1x3x4xf32>) -> tensor<1x3x2xf32> {
  %w = ge.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<4x4xf32>
  %m = ge.matmul %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %gate, %up = ge.split %m {axis = 2 : i64, sizes = array<i64: 2, 2>} : (tensor<1x3x4xf32>) -> (tensor<1x3x2xf32>, tensor<1x3x2xf32>)
  %s = ge.silu %gate : (tensor<1x3x2xf32>) -> tensor<1x3x2xf32>
  %y = ge.mul %s, %up : (tensor<1x3x2xf32>, tensor<1x3x2xf32>) -> tensor<1x3x2xf32>
  func.return %y : tensor<1x3x2xf32>
}

// -----

// GPT-2's fused QKV projection is cut into three pieces that no one mul reads: it stays one
// GEMM (combine-parallel-matmuls' form).
// CHECK-LABEL: func.func @no_cut_for_other_readers
// CHECK: %[[M:.+]] = ge.matmul
// CHECK-NEXT: ge.split %[[M]]
func.func @no_cut_for_other_readers(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = ge.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]> : tensor<2x6xf32>
  %m = ge.matmul %x, %w : (tensor<3x2xf32>, tensor<2x6xf32>) -> tensor<3x6xf32>
  %q, %k, %v = ge.split %m {axis = 1 : i64, sizes = array<i64: 2, 2, 2>} : (tensor<3x6xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>)
  %y = ge.mul %q, %k : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  func.return %y, %v : tensor<3x2xf32>, tensor<3x2xf32>
}
