// RUN: ge-opt %s --split-input-file -p fuse-matmul-scale | filecheck %s

// Q·Kᵀ/√d: the transpose becomes transpose_b, the division alpha = 1/√d.
// CHECK-LABEL: func.func @q_kt_over_sqrt_d
// CHECK-SAME: (%[[Q:.+]]: tensor<2x4x16xf32>, %[[K:.+]]: tensor<2x4x16xf32>)
// CHECK-NEXT: %[[S:.+]] = kernel.matmul %[[Q]], %[[K]] {transpose_a = false, transpose_b = true, alpha = 2.500000e-01 : f64, fused_from = ["ge.transpose", "ge.matmul", "ge.div"]}
// CHECK-NEXT: func.return %[[S]]
func.func @q_kt_over_sqrt_d(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>) -> tensor<2x4x4xf32> {
  %kt = ge.transpose %k {perm = array<i64: 0, 2, 1>} : (tensor<2x4x16xf32>) -> tensor<2x16x4xf32>
  %s = ge.matmul %q, %kt : (tensor<2x4x16xf32>, tensor<2x16x4xf32>) -> tensor<2x4x4xf32>
  %d = ge.constant dense<4.0> : tensor<f32>
  %r = ge.div %s, %d : (tensor<2x4x4xf32>, tensor<f32>) -> tensor<2x4x4xf32>
  func.return %r : tensor<2x4x4xf32>
}

// -----

// A scale on the left (c * (A @ B)) folds as well.
// CHECK-LABEL: func.func @scale_on_left
// CHECK: kernel.matmul {{.*}}alpha = 1.250000e-01 : f64, fused_from = ["ge.matmul", "ge.mul"]}
func.func @scale_on_left(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>) -> tensor<4x4xf32> {
  %m = ge.matmul %a, %b : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %c = ge.constant dense<0.125> : tensor<1xf32>
  %r = ge.mul %c, %m : (tensor<1xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %r : tensor<4x4xf32>
}

// -----

// A transpose that also feeds another op is computed anyway: it is not absorbed.
// CHECK-LABEL: func.func @no_fuse_shared_transpose
// CHECK: %[[T:.+]] = ge.transpose
// CHECK-NEXT: ge.matmul %{{.+}}, %[[T]]
func.func @no_fuse_shared_transpose(%q: tensor<4x16xf32>, %k: tensor<4x16xf32>) -> (tensor<4x4xf32>, tensor<16x4xf32>) {
  %kt = ge.transpose %k {perm = array<i64: 1, 0>} : (tensor<4x16xf32>) -> tensor<16x4xf32>
  %s = ge.matmul %q, %kt : (tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<4x4xf32>
  func.return %s, %kt : tensor<4x4xf32>, tensor<16x4xf32>
}

// -----

// A non-uniform factor is not a scalar scale: no alpha.
// CHECK-LABEL: func.func @no_fuse_vector_scale
// CHECK: ge.matmul
// CHECK: ge.mul
func.func @no_fuse_vector_scale(%a: tensor<4x8xf32>, %b: tensor<8x2xf32>) -> tensor<4x2xf32> {
  %m = ge.matmul %a, %b : (tensor<4x8xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  %c = ge.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %r = ge.mul %m, %c : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  func.return %r : tensor<4x2xf32>
}

// -----

// A transpose that does not swap the last two dims is not a matmul flag.
// CHECK-LABEL: func.func @no_fuse_other_permutation
// CHECK: ge.transpose
// CHECK-NEXT: ge.matmul
func.func @no_fuse_other_permutation(%q: tensor<2x4x4xf32>, %k: tensor<4x2x4xf32>) -> tensor<2x4x4xf32> {
  %kt = ge.transpose %k {perm = array<i64: 1, 0, 2>} : (tensor<4x2x4xf32>) -> tensor<2x4x4xf32>
  %s = ge.matmul %q, %kt : (tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  func.return %s : tensor<2x4x4xf32>
}
