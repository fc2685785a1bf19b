// RUN: ge-opt %s --split-input-file -p cse,dce | filecheck %s
// RUN: ge-opt %s --split-input-file -p canonicalize | filecheck %s --check-prefix=CANON

// Kernels are pure: identical kernels (bodies compared structurally) merge, unused ones go.
// CHECK-LABEL: func.func @merge_identical
// CHECK-SAME: (%[[A:.+]]: tensor<4xf32>, %[[W:.+]]: tensor<4x4xf32>)
// CHECK-NEXT: %[[E:.+]] = kernel.elementwise %[[A]]
// CHECK: %[[M:.+]] = kernel.matmul %[[W]], %[[W]]
// CHECK-NOT: kernel.
// CHECK: func.return %[[E]], %[[E]], %[[M]]
// CANON-LABEL: func.func @merge_identical
// CANON-NOT: kernel.transpose
func.func @merge_identical(%a: tensor<4xf32>, %w: tensor<4x4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4x4xf32>) {
  %0 = kernel.elementwise %a {fused_from = ["ge.exp"]} : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<f32>):
    %y = ge.exp %x : (tensor<f32>) -> tensor<f32>
    kernel.yield %y : tensor<f32>
  }
  %1 = kernel.elementwise %a {fused_from = ["ge.exp"]} : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<f32>):
    %y = ge.exp %x : (tensor<f32>) -> tensor<f32>
    kernel.yield %y : tensor<f32>
  }
  %2 = kernel.matmul %w, %w {fused_from = ["ge.matmul"], transpose_a = false, transpose_b = false, alpha = 1.0 : f64} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %3 = kernel.matmul %w, %w {fused_from = ["ge.matmul"], transpose_a = false, transpose_b = false, alpha = 1.0 : f64} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %unused = kernel.transpose %w {perm = array<i64: 1, 0>, fused_from = ["ge.transpose"]} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %0, %1, %3 : tensor<4xf32>, tensor<4xf32>, tensor<4x4xf32>
}

// -----

// Bodies that differ (exp vs. tanh) are different kernels.
// CHECK-LABEL: func.func @keep_different_bodies
// CHECK: kernel.elementwise
// CHECK: ge.exp
// CHECK: kernel.elementwise
// CHECK: ge.tanh
func.func @keep_different_bodies(%a: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %0 = kernel.elementwise %a {fused_from = ["ge.exp"]} : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<f32>):
    %y = ge.exp %x : (tensor<f32>) -> tensor<f32>
    kernel.yield %y : tensor<f32>
  }
  %1 = kernel.elementwise %a {fused_from = ["ge.tanh"]} : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<f32>):
    %y = ge.tanh %x : (tensor<f32>) -> tensor<f32>
    kernel.yield %y : tensor<f32>
  }
  func.return %0, %1 : tensor<4xf32>, tensor<4xf32>
}
