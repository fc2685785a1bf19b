// RUN: ge-opt %s --split-input-file -p fuse-matmul-add-gelu | filecheck %s

// BERT's feed-forward: matmul + bias + gelu as one kernel.
// CHECK-LABEL: func.func @bias_gelu
// CHECK-SAME: (%[[X:.+]]: tensor<2x4x8xf32>, %[[W:.+]]: tensor<8x16xf32>, %[[B:.+]]: tensor<16xf32>)
// CHECK-NEXT: %[[Y:.+]] = kernel.matmul %[[X]], %[[W]] bias %[[B]] {{{.*}}fused_from = ["ge.matmul", "ge.add", "ge.gelu"], activation = "gelu", activation_attrs = {approximate = "none"}}
// CHECK-NEXT: func.return %[[Y]]
func.func @bias_gelu(%x: tensor<2x4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<2x4x16xf32> {
  %m = ge.matmul %x, %w : (tensor<2x4x8xf32>, tensor<8x16xf32>) -> tensor<2x4x16xf32>
  %a = ge.add %b, %m : (tensor<16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %g = ge.gelu %a {approximate = "none"} : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  func.return %g : tensor<2x4x16xf32>
}

// -----

// relu directly on the product: activation without bias.
// CHECK-LABEL: func.func @matmul_relu
// CHECK: kernel.matmul {{.*}}fused_from = ["ge.matmul", "ge.relu"], activation = "relu"}
func.func @matmul_relu(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %m = ge.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %r = ge.relu %m : (tensor<4x16xf32>) -> tensor<4x16xf32>
  func.return %r : tensor<4x16xf32>
}

// -----

// The "bias" grows the product (4x16 -> 3x4x16): it is not an epilogue.
// CHECK-LABEL: func.func @no_fuse_growing_bias
// CHECK: ge.matmul
// CHECK-NEXT: ge.add
func.func @no_fuse_growing_bias(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<3x1x16xf32>) -> tensor<3x4x16xf32> {
  %m = ge.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %a = ge.add %m, %b : (tensor<4x16xf32>, tensor<3x1x16xf32>) -> tensor<3x4x16xf32>
  func.return %a : tensor<3x4x16xf32>
}

// -----

// The product is also returned: the add must not swallow it.
// CHECK-LABEL: func.func @no_fuse_second_consumer
// CHECK: %[[M:.+]] = ge.matmul
// CHECK-NEXT: ge.add %[[M]]
func.func @no_fuse_second_consumer(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %m = ge.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %a = ge.add %m, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  func.return %a, %m : tensor<4x16xf32>, tensor<4x16xf32>
}
