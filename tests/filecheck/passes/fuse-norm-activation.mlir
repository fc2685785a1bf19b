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

// -----

// An instance norm is a group norm of one channel a group: with its ReLU (a style-transfer
// net's InstanceNorm + ReLU) it becomes one kernel.group_norm with C groups.
// CHECK-LABEL: func.func @instance_norm_relu
// CHECK-NEXT:    %[[Y:.+]] = kernel.group_norm %x, %s, %b {epsilon = 1.000000e-05 : f64, fused_from = ["ge.instance_norm", "ge.relu"], num_groups = 3 : i64, activation = "relu"}
// CHECK-NEXT:    func.return %[[Y]]
func.func @instance_norm_relu(%x: tensor<1x3x4x4xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<1x3x4x4xf32> {
  %n = ge.instance_norm %x, %s, %b {epsilon = 1.0e-05 : f64} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  %y = ge.relu %n : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  func.return %y : tensor<1x3x4x4xf32>
}

// -----

// The activation of a view of the norm (a GroupNorm on (N, C), run on (N, C, 1)) moves
// above the view, into the kernel.
// CHECK-LABEL: func.func @activation_behind_a_view
// CHECK-NEXT:    %[[N:.+]] = kernel.group_norm %x, %s, %b {{{.*}}activation = "silu"}
// CHECK-NEXT:    %[[Y:.+]] = ge.reshape %[[N]] {shape = array<i64: 2, 4>}
// CHECK-NEXT:    func.return %[[Y]]
func.func @activation_behind_a_view(%x: tensor<2x4x1xf32>, %s: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %n = ge.group_norm %x, %s, %b {num_groups = 2 : i64, epsilon = 1.0e-05 : f64} : (tensor<2x4x1xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x1xf32>
  %v = ge.reshape %n {shape = array<i64: 2, 4>} : (tensor<2x4x1xf32>) -> tensor<2x4xf32>
  %y = ge.silu %v : (tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}
