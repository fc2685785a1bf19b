// RUN: ge-opt %s --split-input-file -p recognize-silu | filecheck %s

// nn.SiLU as torch.onnx.export writes it: Mul(x, Sigmoid(x)).
// CHECK-LABEL: func.func @silu_torch_export
// CHECK-NEXT:    %[[Y:.+]] = ge.silu %x : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @silu_torch_export(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %s = ge.sigmoid %x : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %y = ge.mul %x, %s : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  func.return %y : tensor<1x8x4x4xf32>
}

// -----

// The gate first: sigmoid(x) * x.
// CHECK-LABEL: func.func @silu_gate_first
// CHECK-NEXT:    %[[Y:.+]] = ge.silu %x
// CHECK-NEXT:    func.return %[[Y]]
func.func @silu_gate_first(%x: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %s = ge.sigmoid %x : (tensor<3x5xf32>) -> tensor<3x5xf32>
  %y = ge.mul %s, %x : (tensor<3x5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  func.return %y : tensor<3x5xf32>
}

// -----

// The sigmoid has a second user: the mul becomes a silu, the sigmoid stays for the other.
// CHECK-LABEL: func.func @sigmoid_also_returned
// CHECK-NEXT:    %[[S:.+]] = ge.sigmoid %x
// CHECK-NEXT:    %[[Y:.+]] = ge.silu %x
// CHECK-NEXT:    func.return %[[Y]], %[[S]]
func.func @sigmoid_also_returned(%x: tensor<6xf32>) -> (tensor<6xf32>, tensor<6xf32>) {
  %s = ge.sigmoid %x : (tensor<6xf32>) -> tensor<6xf32>
  %y = ge.mul %x, %s : (tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
  func.return %y, %s : tensor<6xf32>, tensor<6xf32>
}

// -----

// A gate of another value (EfficientNet's squeeze-excitation: y * sigmoid(s)) is no SiLU.
// CHECK-LABEL: func.func @gate_of_another_value
// CHECK-NEXT:    %[[S:.+]] = ge.sigmoid %g
// CHECK-NEXT:    %[[Y:.+]] = ge.mul %x, %[[S]]
// CHECK-NOT:     ge.silu
func.func @gate_of_another_value(%x: tensor<1x8x4x4xf32>, %g: tensor<1x8x1x1xf32>) -> tensor<1x8x4x4xf32> {
  %s = ge.sigmoid %g : (tensor<1x8x1x1xf32>) -> tensor<1x8x1x1xf32>
  %y = ge.mul %x, %s : (tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x4x4xf32>
  func.return %y : tensor<1x8x4x4xf32>
}

// -----

// Swish with alpha (QuickGELU's 1.702 here): x * sigmoid(x * 1.702), the constant first or not.
// CHECK-LABEL: func.func @quick_gelu
// CHECK-NEXT:    %[[Y:.+]] = ge.silu %x {alpha = 1.702{{[0-9]*}} : f64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @quick_gelu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = ge.constant dense<1.702> : tensor<f32>
  %bx = ge.mul %a, %x : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %s = ge.sigmoid %bx : (tensor<4xf32>) -> tensor<4xf32>
  %y = ge.mul %x, %s : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

// Left alone: a gate of x scaled per element (not one alpha), and a scaled x that something
// else reads too (the scaling would have to stay).
// CHECK-LABEL: func.func @not_one_alpha
// CHECK-NOT:     ge.silu
func.func @not_one_alpha(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %a = ge.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %bx = ge.mul %x, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %s = ge.sigmoid %bx : (tensor<2xf32>) -> tensor<2xf32>
  %y = ge.mul %x, %s : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %c = ge.constant dense<2.0> : tensor<f32>
  %cx = ge.mul %x, %c : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  %t = ge.sigmoid %cx : (tensor<2xf32>) -> tensor<2xf32>
  %z = ge.mul %x, %t : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %w = ge.add %z, %cx : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %y, %w : tensor<2xf32>, tensor<2xf32>
}
