// RUN: ge-opt %s --split-input-file -p select-implementations | filecheck %s

// BERT-base attention (12 heads, S = 128, d = 64, f16): both forms costed,
// the fused kernel (no S/P round trip through HBM) modeled cheaper.
// CHECK-LABEL: func.func @bert_attention
// CHECK: kernel.attention {{.*}}ge.costs = {fused = {{[0-9.e+]+}} : f64, unfused = {{[0-9.e+]+}} : f64}
// CHECK-SAME: algorithm = "fused"
func.func @bert_attention(%q: tensor<1x12x128x64xf16>, %k: tensor<1x12x64x128xf16>, %v: tensor<1x12x128x64xf16>) -> tensor<1x12x128x64xf16> {
  %o = kernel.attention %q, %k, %v {scale = 0.125 : f64, key_transposed = false, fused_from = ["ge.matmul", "ge.mul", "ge.softmax", "ge.matmul"]} : (tensor<1x12x128x64xf16>, tensor<1x12x64x128xf16>, tensor<1x12x128x64xf16>) -> tensor<1x12x128x64xf16>
  func.return %o : tensor<1x12x128x64xf16>
}

// -----

// A preset algorithm is kept; the costs are still recorded.
// CHECK-LABEL: func.func @forced_unfused
// CHECK: kernel.attention {{.*}}ge.costs = {fused = {{[^,]+}}, unfused = {{[^}]+}}}
// CHECK-SAME: algorithm = "unfused"
func.func @forced_unfused(%q: tensor<64x32xf32>, %k: tensor<32x64xf32>, %v: tensor<64x32xf32>, %m: tensor<64x64xf32>) -> tensor<64x32xf32> {
  %o = kernel.attention %q, %k, %v mask %m {scale = 1.0 : f64, key_transposed = false, algorithm = "unfused", fused_from = ["ge.matmul"]} : (tensor<64x32xf32>, tensor<32x64xf32>, tensor<64x32xf32>, tensor<64x64xf32>) -> tensor<64x32xf32>
  func.return %o : tensor<64x32xf32>
}

// -----

// A head dim no L0 tile holds: only the unfused form is a candidate.
// CHECK-LABEL: func.func @head_too_wide
// CHECK: kernel.attention {{.*}}ge.costs = {unfused = {{[^,]+}}}
// CHECK-SAME: algorithm = "unfused"
func.func @head_too_wide(%q: tensor<32x4096xf32>, %k: tensor<4096x32xf32>, %v: tensor<32x16xf32>) -> tensor<32x16xf32> {
  %o = kernel.attention %q, %k, %v {scale = 1.0 : f64, key_transposed = false, fused_from = ["ge.matmul"]} : (tensor<32x4096xf32>, tensor<4096x32xf32>, tensor<32x16xf32>) -> tensor<32x16xf32>
  func.return %o : tensor<32x16xf32>
}

// -----

// An attention that runs unfused with layouts: its head split and merge become transpose
// kernels again (the scheduler can run Q's and V's beside each other), and the kernel keeps
// the rest of its provenance. A fused one keeps its layouts.
// CHECK-LABEL: func.func @unfused_layouts
// CHECK-NEXT: %[[Q:.+]] = kernel.transpose %q {fused_from = ["ge.transpose"], perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>) -> tensor<1x2x8x16xf32>
// CHECK-NEXT: %[[V:.+]] = kernel.transpose %v {fused_from = ["ge.transpose"], perm = array<i64: 0, 2, 1, 3>}
// CHECK-NEXT: %[[A:.+]] = kernel.attention %[[Q]], %k, %[[V]] {ge.costs = {{{.+}}}, scale = 2.500000e-01 : f64, key_transposed = false, fused_from = ["ge.matmul", "ge.softmax", "ge.matmul"], algorithm = "unfused"}
// CHECK-NEXT: %[[O:.+]] = kernel.transpose %[[A]] {fused_from = ["ge.transpose"], perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x16xf32>) -> tensor<1x8x2x16xf32>
// CHECK-NEXT: func.return %[[O]]
func.func @unfused_layouts(%q: tensor<1x8x2x16xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x8x2x16xf32>) -> tensor<1x8x2x16xf32> {
  %o = kernel.attention %q, %k, %v {scale = 0.25 : f64, key_transposed = false, algorithm = "unfused", fused_from = ["ge.transpose", "ge.transpose", "ge.matmul", "ge.softmax", "ge.matmul", "ge.transpose"], query_perm = array<i64: 0, 2, 1, 3>, value_perm = array<i64: 0, 2, 1, 3>, output_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>, tensor<1x2x16x8xf32>, tensor<1x8x2x16xf32>) -> tensor<1x8x2x16xf32>
  func.return %o : tensor<1x8x2x16xf32>
}

// -----

// CHECK-LABEL: func.func @fused_layouts
// CHECK-NEXT: kernel.attention %q, %k, %v {{.*}}query_perm = array<i64: 0, 2, 1, 3>, value_perm = array<i64: 0, 2, 1, 3>, output_perm = array<i64: 0, 2, 1, 3>, algorithm = "fused"
func.func @fused_layouts(%q: tensor<1x128x12x64xf32>, %k: tensor<1x12x64x128xf32>, %v: tensor<1x128x12x64xf32>) -> tensor<1x128x12x64xf32> {
  %o = kernel.attention %q, %k, %v {scale = 0.125 : f64, key_transposed = false, fused_from = ["ge.transpose", "ge.transpose", "ge.matmul", "ge.softmax", "ge.matmul", "ge.transpose"], query_perm = array<i64: 0, 2, 1, 3>, value_perm = array<i64: 0, 2, 1, 3>, output_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x128x12x64xf32>, tensor<1x12x64x128xf32>, tensor<1x128x12x64xf32>) -> tensor<1x128x12x64xf32>
  func.return %o : tensor<1x128x12x64xf32>
}

// -----

// A hand-written kernel whose provenance does not record its layouts' transposes keeps it.
// CHECK-LABEL: func.func @layouts_without_provenance
// CHECK: kernel.transpose %q
// CHECK: kernel.attention {{.+}}fused_from = ["ge.matmul"]
// CHECK: kernel.transpose
func.func @layouts_without_provenance(%q: tensor<1x8x2x16xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x8x2x16xf32> {
  %o = kernel.attention %q, %k, %v {scale = 0.25 : f64, key_transposed = false, algorithm = "unfused", fused_from = ["ge.matmul"], query_perm = array<i64: 0, 2, 1, 3>, output_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>, tensor<1x2x16x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x8x2x16xf32>
  func.return %o : tensor<1x8x2x16xf32>
}
