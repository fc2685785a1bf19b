// RUN: ge-opt %s --split-input-file -p fuse-matmul-add-gelu,fuse-matmul-transpose,fuse-matmul-residual-add | filecheck %s

// Stable Diffusion's VAE attention: the output projection on (HW, C) rows, transposed and
// viewed back as an image for the skip connection. The product is computed transposed,
// Wᵀ (a new constant) times the rows read transposed, with the bias as a column; the skip
// connection then meets the matmul through the view and becomes its residual.
// CHECK-LABEL: func.func @vae_output_projection
// CHECK-SAME: (%[[O:.+]]: tensor<1x6x4xf32>, %[[X:.+]]: tensor<1x4x2x3xf32>)
// CHECK-DAG: %[[WT:.+]] = ge.constant dense<{{\[\[}}1.000000e+00, 5.000000e+00, 9.000000e+00, 1.300000e+01]
// CHECK-DAG: %[[B:.+]] = ge.reshape %{{.+}} {shape = array<i64: 4, 1>}
// CHECK-DAG: %[[R:.+]] = ge.reshape %[[X]] {shape = array<i64: 1, 4, 6>}
// CHECK: %[[Y:.+]] = kernel.matmul %[[WT]], %[[O]] bias %[[B]] residual %[[R]] {transpose_a = false, transpose_b = true, {{.*}}fused_from = ["ge.matmul", "ge.add", "ge.transpose", "ge.add"]
// CHECK-NEXT: %[[V:.+]] = ge.reshape %[[Y]] {shape = array<i64: 1, 4, 2, 3>}
// CHECK-NEXT: func.return %[[V]]
func.func @vae_output_projection(%o: tensor<1x6x4xf32>, %x: tensor<1x4x2x3xf32>) -> tensor<1x4x2x3xf32> {
  %w = ge.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]> : tensor<4x4xf32>
  %b = ge.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %m = ge.matmul %o, %w : (tensor<1x6x4xf32>, tensor<4x4xf32>) -> tensor<1x6x4xf32>
  %p = ge.add %m, %b : (tensor<1x6x4xf32>, tensor<4xf32>) -> tensor<1x6x4xf32>
  %t = ge.transpose %p {perm = array<i64: 0, 2, 1>} : (tensor<1x6x4xf32>) -> tensor<1x4x6xf32>
  %v = ge.reshape %t {shape = array<i64: 1, 4, 2, 3>} : (tensor<1x4x6xf32>) -> tensor<1x4x2x3xf32>
  %s = ge.add %v, %x : (tensor<1x4x2x3xf32>, tensor<1x4x2x3xf32>) -> tensor<1x4x2x3xf32>
  func.return %s : tensor<1x4x2x3xf32>
}

// -----

// An activation commutes with the transpose and stays in the kernel.
// CHECK-LABEL: func.func @activation_commutes
// CHECK: kernel.matmul %{{.+}}, %{{.+}} {transpose_a = false, transpose_b = true, {{.*}}fused_from = ["ge.matmul", "ge.relu", "ge.transpose"], activation = "relu"
// CHECK-NOT: ge.transpose
func.func @activation_commutes(%a: tensor<5x3xf32>) -> tensor<2x5xf32> {
  %w = ge.constant dense<[[1.0, -2.0], [3.0, -4.0], [5.0, -6.0]]> : tensor<3x2xf32>
  %m = ge.matmul %a, %w : (tensor<5x3xf32>, tensor<3x2xf32>) -> tensor<5x2xf32>
  %r = ge.relu %m : (tensor<5x2xf32>) -> tensor<5x2xf32>
  %t = ge.transpose %r {perm = array<i64: 1, 0>} : (tensor<5x2xf32>) -> tensor<2x5xf32>
  func.return %t : tensor<2x5xf32>
}

// -----

// A bare product (still a ge.matmul) transposed, W stored as Wᵀ by a transpose_b kernel.
// CHECK-LABEL: func.func @bare_product
// CHECK: kernel.matmul %{{.+}}, %{{.+}} {transpose_a = false, transpose_b = true, {{.*}}fused_from = ["ge.matmul", "ge.transpose"]
// CHECK-NOT: ge.transpose
func.func @bare_product(%a: tensor<2x5x3xf32>) -> tensor<2x2x5xf32> {
  %w = ge.constant dense<[[1.0, -2.0], [3.0, -4.0], [5.0, -6.0]]> : tensor<3x2xf32>
  %m = ge.matmul %a, %w : (tensor<2x5x3xf32>, tensor<3x2xf32>) -> tensor<2x5x2xf32>
  %t = ge.transpose %m {perm = array<i64: 0, 2, 1>} : (tensor<2x5x2xf32>) -> tensor<2x2x5xf32>
  func.return %t : tensor<2x2x5xf32>
}

// -----

// A bias along the rows (one value per row of the product) does not transpose into a
// column bias of the swapped product: the transpose stays.
// CHECK-LABEL: func.func @no_fuse_row_bias
// CHECK: ge.transpose
func.func @no_fuse_row_bias(%a: tensor<5x3xf32>, %c: tensor<5x1xf32>) -> tensor<2x5xf32> {
  %w = ge.constant dense<[[1.0, -2.0], [3.0, -4.0], [5.0, -6.0]]> : tensor<3x2xf32>
  %m = ge.matmul %a, %w : (tensor<5x3xf32>, tensor<3x2xf32>) -> tensor<5x2xf32>
  %p = ge.add %m, %c : (tensor<5x2xf32>, tensor<5x1xf32>) -> tensor<5x2xf32>
  %t = ge.transpose %p {perm = array<i64: 1, 0>} : (tensor<5x2xf32>) -> tensor<2x5xf32>
  func.return %t : tensor<2x5xf32>
}

// -----

// The product is also returned untransposed: it must stay as it is.
// CHECK-LABEL: func.func @no_fuse_shared_product
// CHECK: %[[M:.+]] = ge.matmul
// CHECK-NEXT: ge.transpose %[[M]]
func.func @no_fuse_shared_product(%a: tensor<5x3xf32>) -> (tensor<2x5xf32>, tensor<5x2xf32>) {
  %w = ge.constant dense<[[1.0, -2.0], [3.0, -4.0], [5.0, -6.0]]> : tensor<3x2xf32>
  %m = ge.matmul %a, %w : (tensor<5x3xf32>, tensor<3x2xf32>) -> tensor<5x2xf32>
  %t = ge.transpose %m {perm = array<i64: 1, 0>} : (tensor<5x2xf32>) -> tensor<2x5xf32>
  func.return %t, %m : tensor<2x5xf32>, tensor<5x2xf32>
}

// -----

// A weight that is an argument (not a constant) stays: its transpose would be a kernel.
// CHECK-LABEL: func.func @no_fuse_runtime_weight
// CHECK: ge.transpose
func.func @no_fuse_runtime_weight(%a: tensor<5x3xf32>, %w: tensor<3x2xf32>) -> tensor<2x5xf32> {
  %m = ge.matmul %a, %w : (tensor<5x3xf32>, tensor<3x2xf32>) -> tensor<5x2xf32>
  %t = ge.transpose %m {perm = array<i64: 1, 0>} : (tensor<5x2xf32>) -> tensor<2x5xf32>
  func.return %t : tensor<2x5xf32>
}

// -----

// SDXL's proj_out: the rows viewed as (b, H, W, C), then permuted to NCHW. The permute is
// the rows' transpose behind the view: moved above it, it joins the matmul, and the skip
// connection after the view becomes the residual.
// CHECK-LABEL: func.func @rows_viewed_then_permuted
// CHECK: %[[Y:.+]] = kernel.matmul %{{.+}}, %{{.+}} bias %{{.+}} residual %{{.+}} {transpose_a = false, transpose_b = true, {{.*}}fused_from = ["ge.matmul", "ge.add", "ge.transpose", "ge.add"]
// CHECK-NEXT: ge.reshape %[[Y]] {shape = array<i64: 1, 4, 2, 3>}
// CHECK-NOT: ge.transpose
func.func @rows_viewed_then_permuted(%h: tensor<1x6x4xf32>, %x: tensor<1x4x2x3xf32>) -> tensor<1x4x2x3xf32> {
  %w = ge.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]> : tensor<4x4xf32>
  %b = ge.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %m = ge.matmul %h, %w : (tensor<1x6x4xf32>, tensor<4x4xf32>) -> tensor<1x6x4xf32>
  %p = ge.add %m, %b : (tensor<1x6x4xf32>, tensor<4xf32>) -> tensor<1x6x4xf32>
  %v = ge.reshape %p {shape = array<i64: 1, 2, 3, 4>} : (tensor<1x6x4xf32>) -> tensor<1x2x3x4xf32>
  %t = ge.transpose %v {perm = array<i64: 0, 3, 1, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x4x2x3xf32>
  %s = ge.add %t, %x : (tensor<1x4x2x3xf32>, tensor<1x4x2x3xf32>) -> tensor<1x4x2x3xf32>
  func.return %s : tensor<1x4x2x3xf32>
}

// -----

// A permute that reorders the split factors too is no transpose of the rows: it stays.
// CHECK-LABEL: func.func @no_move_reordering_permute
// CHECK: ge.transpose %{{.+}} {perm = array<i64: 0, 3, 2, 1>}
func.func @no_move_reordering_permute(%h: tensor<1x6x4xf32>) -> tensor<1x4x3x2xf32> {
  %w = ge.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]> : tensor<4x4xf32>
  %m = ge.matmul %h, %w : (tensor<1x6x4xf32>, tensor<4x4xf32>) -> tensor<1x6x4xf32>
  %v = ge.reshape %m {shape = array<i64: 1, 2, 3, 4>} : (tensor<1x6x4xf32>) -> tensor<1x2x3x4xf32>
  %t = ge.transpose %v {perm = array<i64: 0, 3, 2, 1>} : (tensor<1x2x3x4xf32>) -> tensor<1x4x3x2xf32>
  func.return %t : tensor<1x4x3x2xf32>
}
