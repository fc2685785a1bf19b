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
