// RUN: ge-opt %s --split-input-file -p combine-parallel-matmuls,dce | filecheck %s

// BERT's Q, K and V projections of one hidden state: one GEMM over the concatenated weights
// and biases, its product split along the last axis into the three results.
// CHECK-LABEL: func.func @qkv
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x16xf32>)
// CHECK-NEXT: %[[W:.+]] = ge.constant {{.+}} : tensor<16x40xf32>
// CHECK-NEXT: %[[B:.+]] = ge.constant {{.+}} : tensor<40xf32>
// CHECK-NEXT: %[[P:.+]] = kernel.matmul %[[X]], %[[W]] bias %[[B]] {transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64, fused_from = ["ge.matmul", "ge.add", "ge.relu", "ge.matmul", "ge.add", "ge.relu", "ge.matmul", "ge.add", "ge.relu"], activation = "relu"} : (tensor<1x8x16xf32>, tensor<16x40xf32>, tensor<40xf32>) -> tensor<1x8x40xf32>
// CHECK-NEXT: %[[Q:.+]], %[[K:.+]], %[[V:.+]] = kernel.split %[[P]] {fused_from = ["ge.split"], axis = -1 : i64, sizes = array<i64: 16, 16, 8>} : (tensor<1x8x40xf32>) -> (tensor<1x8x16xf32>, tensor<1x8x16xf32>, tensor<1x8x8xf32>)
// CHECK-NEXT: func.return %[[Q]], %[[K]], %[[V]]
func.func @qkv(%x: tensor<1x8x16xf32>) -> (tensor<1x8x16xf32>, tensor<1x8x16xf32>, tensor<1x8x8xf32>) {
  %wq = ge.constant dense<0.1> : tensor<16x16xf32>
  %wk = ge.constant dense<0.2> : tensor<16x16xf32>
  %wv = ge.constant dense<0.3> : tensor<16x8xf32>
  %bq = ge.constant dense<1.0> : tensor<16xf32>
  %bk = ge.constant dense<2.0> : tensor<16xf32>
  %bv = ge.constant dense<3.0> : tensor<8xf32>
  %q = kernel.matmul %x, %wq bias %bq {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, activation = "relu", fused_from = ["ge.matmul", "ge.add", "ge.relu"]} : (tensor<1x8x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
  %k = kernel.matmul %x, %wk bias %bk {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, activation = "relu", fused_from = ["ge.matmul", "ge.add", "ge.relu"]} : (tensor<1x8x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
  %v = kernel.matmul %x, %wv bias %bv {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, activation = "relu", fused_from = ["ge.matmul", "ge.add", "ge.relu"]} : (tensor<1x8x16xf32>, tensor<16x8xf32>, tensor<8xf32>) -> tensor<1x8x8xf32>
  func.return %q, %k, %v : tensor<1x8x16xf32>, tensor<1x8x16xf32>, tensor<1x8x8xf32>
}

// -----

// Weights stored as (N, K) (transpose_b, as ONNX's Gemm transB) concatenate along rows.
// CHECK-LABEL: func.func @transposed_weights
// CHECK: %[[W:.+]] = ge.constant {{.+}} : tensor<24x16xf32>
// CHECK: kernel.matmul %{{.+}}, %[[W]] {transpose_a = false, transpose_b = true, {{.+}}} : (tensor<8x16xf32>, tensor<24x16xf32>) -> tensor<8x24xf32>
// CHECK: kernel.split {{.+}}sizes = array<i64: 16, 8>
func.func @transposed_weights(%x: tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x8xf32>) {
  %w0 = ge.constant dense<0.1> : tensor<16x16xf32>
  %w1 = ge.constant dense<0.2> : tensor<8x16xf32>
  %a = kernel.matmul %x, %w0 {transpose_a = false, transpose_b = true, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %b = kernel.matmul %x, %w1 {transpose_a = false, transpose_b = true, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x8xf32>
  func.return %a, %b : tensor<8x16xf32>, tensor<8x8xf32>
}

// -----

// What stays apart: another activation (twice), a weight another op reads (combined, it
// would be stored twice), a residual, another input.
// CHECK-LABEL: func.func @kept_apart
// CHECK-NOT: kernel.split
// CHECK-COUNT-6: kernel.matmul
// CHECK-NOT: kernel.split
// CHECK: func.return
func.func @kept_apart(%x: tensor<8x16xf32>, %y: tensor<8x16xf32>, %r: tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<16x16xf32>) {
  %w0 = ge.constant dense<0.1> : tensor<16x16xf32>
  %w1 = ge.constant dense<0.2> : tensor<16x16xf32>
  %w2 = ge.constant dense<0.3> : tensor<16x16xf32>
  %w3 = ge.constant dense<0.4> : tensor<16x16xf32>
  %w4 = ge.constant dense<0.5> : tensor<16x16xf32>
  %w5 = ge.constant dense<0.6> : tensor<16x16xf32>
  %b = ge.constant dense<1.0> : tensor<16xf32>
  %a0 = kernel.matmul %x, %w0 {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, activation = "relu", fused_from = ["ge.matmul", "ge.relu"]} : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %a1 = kernel.matmul %x, %w1 {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %a2 = kernel.matmul %y, %w2 {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %a3 = kernel.matmul %y, %w3 bias %b {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, activation = "tanh", fused_from = ["ge.matmul", "ge.add", "ge.tanh"]} : (tensor<8x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  %a4 = kernel.matmul %r, %w4 {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %a5 = kernel.matmul %r, %w5 residual %y {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul", "ge.add"]} : (tensor<8x16xf32>, tensor<16x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  func.return %a0, %a1, %a2, %a3, %a4, %a5, %w2 : tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<16x16xf32>
}

// -----

// Whisper's attention: Q and V projections have biases, K's has none; K's part of the
// combined bias is zeros.
// CHECK-LABEL: func.func @missing_bias
// CHECK: %[[B:.+]] = ge.constant dense<[1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00, 3.000000e+00, 3.000000e+00]> : tensor<6xf32>
// CHECK: kernel.matmul %{{.+}}, %{{.+}} bias %[[B]]
// CHECK: kernel.split {{.+}}sizes = array<i64: 2, 2, 2>
func.func @missing_bias(%x: tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) {
  %wq = ge.constant dense<0.1> : tensor<8x2xf32>
  %wk = ge.constant dense<0.2> : tensor<8x2xf32>
  %wv = ge.constant dense<0.3> : tensor<8x2xf32>
  %bq = ge.constant dense<1.0> : tensor<2xf32>
  %bv = ge.constant dense<3.0> : tensor<2xf32>
  %q = kernel.matmul %x, %wq bias %bq {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul", "ge.add"]} : (tensor<4x8xf32>, tensor<8x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %k = kernel.matmul %x, %wk {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  %v = kernel.matmul %x, %wv bias %bv {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul", "ge.add"]} : (tensor<4x8xf32>, tensor<8x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  func.return %q, %k, %v : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>
}
