// RUN: ge-opt %s --split-input-file -p recognize-gelu | filecheck %s

// nn.GELU() as torch.onnx.export writes it (opset 13): (x * (erf(x / sqrt 2) + 1)) * 0.5.
// CHECK-LABEL: func.func @gelu_erf_torch_export
// CHECK-NEXT:    %[[Y:.+]] = ge.gelu %x {approximate = "none"}
// CHECK-NEXT:    func.return %[[Y]]
func.func @gelu_erf_torch_export(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %sqrt2 = ge.constant dense<1.41421354> : tensor<f32>
  %one = ge.constant dense<1.0> : tensor<f32>
  %half = ge.constant dense<0.5> : tensor<f32>
  %a = ge.div %x, %sqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %e = ge.erf %a : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %c = ge.add %e, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = ge.mul %x, %c : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = ge.mul %m, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  func.return %y : tensor<2x8xf32>
}

// -----

// Hand-written grouping: (0.5 * x) * (1 + erf(x * 0.70710678)).
// CHECK-LABEL: func.func @gelu_erf_half_first
// CHECK-NEXT:    %[[Y:.+]] = ge.gelu %x {approximate = "none"}
// CHECK-NEXT:    func.return %[[Y]]
func.func @gelu_erf_half_first(%x: tensor<4xf32>) -> tensor<4xf32> {
  %inv = ge.constant dense<0.707106769> : tensor<1xf32>
  %one = ge.constant dense<1.0> : tensor<1xf32>
  %half = ge.constant dense<0.5> : tensor<1xf32>
  %h = ge.mul %half, %x : (tensor<1xf32>, tensor<4xf32>) -> tensor<4xf32>
  %a = ge.mul %inv, %x : (tensor<1xf32>, tensor<4xf32>) -> tensor<4xf32>
  %e = ge.erf %a : (tensor<4xf32>) -> tensor<4xf32>
  %c = ge.add %one, %e : (tensor<1xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y = ge.mul %h, %c : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

// nn.GELU(approximate="tanh") as torch exports it: 0.5 * (x * (1 + tanh(b * (x + k * x * (x * x))))).
// CHECK-LABEL: func.func @gelu_tanh_torch_export
// CHECK-NEXT:    %[[Y:.+]] = ge.gelu %x {approximate = "tanh"}
// CHECK-NEXT:    func.return %[[Y]]
func.func @gelu_tanh_torch_export(%x: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %beta = ge.constant dense<0.797884583> : tensor<f32>
  %kappa = ge.constant dense<0.044715> : tensor<f32>
  %one = ge.constant dense<1.0> : tensor<f32>
  %half = ge.constant dense<0.5> : tensor<f32>
  %sq = ge.mul %x, %x : (tensor<3x5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  %cube = ge.mul %x, %sq : (tensor<3x5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  %kc = ge.mul %kappa, %cube : (tensor<f32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  %in = ge.add %x, %kc : (tensor<3x5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  %t0 = ge.mul %beta, %in : (tensor<f32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  %t = ge.tanh %t0 : (tensor<3x5xf32>) -> tensor<3x5xf32>
  %c = ge.add %one, %t : (tensor<f32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  %m = ge.mul %x, %c : (tensor<3x5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  %y = ge.mul %half, %m : (tensor<f32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  func.return %y : tensor<3x5xf32>
}

// -----

// The tanh form with pow(x, 3) and ((1 + tanh) * 0.5) * x.
// CHECK-LABEL: func.func @gelu_tanh_pow_variant
// CHECK-NEXT:    %[[Y:.+]] = ge.gelu %x {approximate = "tanh"}
// CHECK-NEXT:    func.return %[[Y]]
func.func @gelu_tanh_pow_variant(%x: tensor<6xf32>) -> tensor<6xf32> {
  %three = ge.constant dense<3.0> : tensor<f32>
  %beta = ge.constant dense<0.797884583> : tensor<f32>
  %kappa = ge.constant dense<0.044715> : tensor<f32>
  %one = ge.constant dense<1.0> : tensor<f32>
  %half = ge.constant dense<0.5> : tensor<f32>
  %cube = ge.pow %x, %three : (tensor<6xf32>, tensor<f32>) -> tensor<6xf32>
  %kc = ge.mul %cube, %kappa : (tensor<6xf32>, tensor<f32>) -> tensor<6xf32>
  %in = ge.add %kc, %x : (tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
  %t0 = ge.mul %in, %beta : (tensor<6xf32>, tensor<f32>) -> tensor<6xf32>
  %t = ge.tanh %t0 : (tensor<6xf32>) -> tensor<6xf32>
  %c = ge.add %t, %one : (tensor<6xf32>, tensor<f32>) -> tensor<6xf32>
  %h = ge.mul %c, %half : (tensor<6xf32>, tensor<f32>) -> tensor<6xf32>
  %y = ge.mul %h, %x : (tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
  func.return %y : tensor<6xf32>
}

// -----

// erf(x / sqrt 2) is also returned: removing the chain would lose it.
// CHECK-LABEL: func.func @no_recognize_second_consumer
// CHECK-NOT:     ge.gelu
// CHECK:         ge.erf
func.func @no_recognize_second_consumer(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %sqrt2 = ge.constant dense<1.41421354> : tensor<f32>
  %one = ge.constant dense<1.0> : tensor<f32>
  %half = ge.constant dense<0.5> : tensor<f32>
  %a = ge.div %x, %sqrt2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %e = ge.erf %a : (tensor<4xf32>) -> tensor<4xf32>
  %c = ge.add %e, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %m = ge.mul %x, %c : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y = ge.mul %m, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  func.return %y, %e : tensor<4xf32>, tensor<4xf32>
}

// -----

// A half of shape 2x4 broadcasts the result to a larger shape than x: not a GELU of x.
// CHECK-LABEL: func.func @no_recognize_broadcast_changes_shape
// CHECK-NOT:     ge.gelu
func.func @no_recognize_broadcast_changes_shape(%x: tensor<4xf32>) -> tensor<2x4xf32> {
  %sqrt2 = ge.constant dense<1.41421354> : tensor<f32>
  %one = ge.constant dense<1.0> : tensor<f32>
  %half = ge.constant dense<0.5> : tensor<2x4xf32>
  %a = ge.div %x, %sqrt2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %e = ge.erf %a : (tensor<4xf32>) -> tensor<4xf32>
  %c = ge.add %e, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %m = ge.mul %x, %c : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y = ge.mul %m, %half : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// -----

// Wrong constants (0.6 instead of 0.5; a different x in the product) are not a GELU.
// CHECK-LABEL: func.func @no_recognize_wrong_constant_or_value
// CHECK-NOT:     ge.gelu
func.func @no_recognize_wrong_constant_or_value(%x: tensor<4xf32>, %z: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %sqrt2 = ge.constant dense<1.41421354> : tensor<f32>
  %one = ge.constant dense<1.0> : tensor<f32>
  %half = ge.constant dense<0.5> : tensor<f32>
  %six = ge.constant dense<0.6> : tensor<f32>
  %a = ge.div %x, %sqrt2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %e = ge.erf %a : (tensor<4xf32>) -> tensor<4xf32>
  %c = ge.add %e, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %m = ge.mul %x, %c : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y = ge.mul %m, %six : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %a2 = ge.div %x, %sqrt2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %e2 = ge.erf %a2 : (tensor<4xf32>) -> tensor<4xf32>
  %c2 = ge.add %e2, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %m2 = ge.mul %z, %c2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y2 = ge.mul %m2, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  func.return %y, %y2 : tensor<4xf32>, tensor<4xf32>
}
