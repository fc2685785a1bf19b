// RUN: ge-opt %s --split-input-file -p fuse-norm-activation | filecheck %s

// GroupNorm + SiLU (a diffusion UNet's): one kernel.group_norm with the activation.
// CHECK-LABEL: func.func @group_norm_silu
// CHECK-NEXT:    %[[Y:.+]] = kernel.group_norm %x, %s, %b {epsilon = 1.000000e-05 : f64, fused_from = ["ge.group_norm", "ge.silu"], num_groups = 2 : i64, activation = "silu"}
// CHECK-NEXT:    func.return %[[Y]]
func.func @group_norm_silu(%x: tensor<1x4x3x3xf32>, %s: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<1x4x3x3xf32> {
  %n = ge.group_norm %x, %s, %b {num_groups = 2 : i64, epsilon = 1.0e-05 : f64} : (tensor<1x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
  %y = ge.silu %n : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  func.return %y : tensor<1x4x3x3xf32>
}

// -----

// An activation with attributes keeps them (a leaky ReLU's alpha).
// CHECK-LABEL: func.func @group_norm_leaky_relu
// CHECK-NEXT:    %[[Y:.+]] = kernel.group_norm %x, %s, %b {{{.*}}activation = "leaky_relu", activation_attrs = {alpha = 2.000000e-01 : f64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @group_norm_leaky_relu(%x: tensor<2x6x5xf32>, %s: tensor<6xf32>, %b: tensor<6xf32>) -> tensor<2x6x5xf32> {
  %n = ge.group_norm %x, %s, %b {num_groups = 3 : i64, epsilon = 1.0e-05 : f64} : (tensor<2x6x5xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<2x6x5xf32>
  %y = ge.leaky_relu %n {alpha = 0.2 : f64} : (tensor<2x6x5xf32>) -> tensor<2x6x5xf32>
  func.return %y : tensor<2x6x5xf32>
}

// -----

// The normalized tensor is also returned: the activation stays a kernel of its own (fusing
// it would compute the norm twice).
// CHECK-LABEL: func.func @norm_read_twice
// CHECK-NEXT:    %[[N:.+]] = ge.group_norm
// CHECK-NEXT:    %[[Y:.+]] = ge.silu %[[N]]
// CHECK-NEXT:    func.return %[[Y]], %[[N]]
func.func @norm_read_twice(%x: tensor<1x4x3x3xf32>, %s: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) {
  %n = ge.group_norm %x, %s, %b {num_groups = 2 : i64, epsilon = 1.0e-05 : f64} : (tensor<1x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
  %y = ge.silu %n : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  func.return %y, %n : tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>
}
