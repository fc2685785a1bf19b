// RUN: ge-opt %s --split-input-file -p recognize-layer-norm | filecheck %s

// nn.LayerNorm(8) as torch.onnx.export writes it at opset 13.
// CHECK-LABEL: func.func @layer_norm_torch_export
// CHECK-SAME:    (%[[X:.+]]: tensor<2x4x8xf32>, %[[G:.+]]: tensor<8xf32>, %[[B:.+]]: tensor<8xf32>)
// CHECK-NEXT:    %[[Y:.+]] = ge.layer_norm %[[X]], %[[G]], %[[B]] {axis = -1 : i64, epsilon = 1.000000e-05 : f64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @layer_norm_torch_export(%x: tensor<2x4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x4x8xf32> {
  %two = ge.constant dense<2.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-05> : tensor<f32>
  %mean = ge.reduce_mean %x {axes = array<i64: -1>, keepdims = true} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %d = ge.sub %x, %mean : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %p = ge.pow %d, %two : (tensor<2x4x8xf32>, tensor<f32>) -> tensor<2x4x8xf32>
  %var = ge.reduce_mean %p {axes = array<i64: -1>, keepdims = true} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %ve = ge.add %var, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %s = ge.sqrt %ve : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %n = ge.div %d, %s : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %m = ge.mul %n, %g : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %y = ge.add %m, %b : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  func.return %y : tensor<2x4x8xf32>
}

// -----

// Over the two trailing dims, with x * x, a reciprocal, commuted operands, and no affine
// part: the scale becomes a constant of ones.
// CHECK-LABEL: func.func @layer_norm_variant_no_affine
// CHECK:         %[[ONES:.+]] = ge.constant dense<1.000000e+00> : tensor<3x4xf32>
// CHECK-NEXT:    %[[Y:.+]] = ge.layer_norm %x, %[[ONES]] {axis = -2 : i64, epsilon = 1.000000e-03 : f64}
// CHECK-NOT:     ge.reduce_mean
// CHECK:         func.return %[[Y]]
func.func @layer_norm_variant_no_affine(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %eps = ge.constant dense<1.0e-03> : tensor<1xf32>
  %mean = ge.reduce_mean %x {axes = array<i64: 2, 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x1xf32>
  %d = ge.sub %x, %mean : (tensor<2x3x4xf32>, tensor<2x1x1xf32>) -> tensor<2x3x4xf32>
  %p = ge.mul %d, %d : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %var = ge.reduce_mean %p {axes = array<i64: -2, -1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x1xf32>
  %ve = ge.add %eps, %var : (tensor<1xf32>, tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %s = ge.sqrt %ve : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %r = ge.reciprocal %s : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %n = ge.mul %r, %d : (tensor<2x1x1xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  func.return %n : tensor<2x3x4xf32>
}

// -----

// The centred value d is also returned: removing the chain would lose it.
// CHECK-LABEL: func.func @no_recognize_second_consumer
// CHECK-NOT:     ge.layer_norm
// CHECK:         ge.div
func.func @no_recognize_second_consumer(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %two = ge.constant dense<2.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-05> : tensor<f32>
  %mean = ge.reduce_mean %x {axes = array<i64: -1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %d = ge.sub %x, %mean : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %p = ge.pow %d, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %var = ge.reduce_mean %p {axes = array<i64: -1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %ve = ge.add %var, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ge.sqrt %ve : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %n = ge.div %d, %s : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  func.return %n, %d : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Normalizing over a leading axis is not a LayerNorm.
// CHECK-LABEL: func.func @no_recognize_leading_axis
// CHECK-NOT:     ge.layer_norm
func.func @no_recognize_leading_axis(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %two = ge.constant dense<2.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-05> : tensor<f32>
  %mean = ge.reduce_mean %x {axes = array<i64: 0>, keepdims = true} : (tensor<4x8xf32>) -> tensor<1x8xf32>
  %d = ge.sub %x, %mean : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  %p = ge.pow %d, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %var = ge.reduce_mean %p {axes = array<i64: 0>, keepdims = true} : (tensor<4x8xf32>) -> tensor<1x8xf32>
  %ve = ge.add %var, %eps : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
  %s = ge.sqrt %ve : (tensor<1x8xf32>) -> tensor<1x8xf32>
  %n = ge.div %d, %s : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  func.return %n : tensor<4x8xf32>
}

// -----

// Pow 3 is not a variance, and the two means disagree on their axes.
// CHECK-LABEL: func.func @no_recognize_wrong_exponent_or_axes
// CHECK-NOT:     ge.layer_norm
func.func @no_recognize_wrong_exponent_or_axes(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %two = ge.constant dense<2.0> : tensor<f32>
  %three = ge.constant dense<3.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-05> : tensor<f32>
  %mean = ge.reduce_mean %x {axes = array<i64: -1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
  %d = ge.sub %x, %mean : (tensor<2x3x4xf32>, tensor<2x3x1xf32>) -> tensor<2x3x4xf32>
  %p = ge.pow %d, %three : (tensor<2x3x4xf32>, tensor<f32>) -> tensor<2x3x4xf32>
  %var = ge.reduce_mean %p {axes = array<i64: -1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
  %ve = ge.add %var, %eps : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %s = ge.sqrt %ve : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %n = ge.div %d, %s : (tensor<2x3x4xf32>, tensor<2x3x1xf32>) -> tensor<2x3x4xf32>
  %mean2 = ge.reduce_mean %x {axes = array<i64: -1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
  %d2 = ge.sub %x, %mean2 : (tensor<2x3x4xf32>, tensor<2x3x1xf32>) -> tensor<2x3x4xf32>
  %p2 = ge.pow %d2, %two : (tensor<2x3x4xf32>, tensor<f32>) -> tensor<2x3x4xf32>
  %var2 = ge.reduce_mean %p2 {axes = array<i64: -2, -1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x1xf32>
  %ve2 = ge.add %var2, %eps : (tensor<2x1x1xf32>, tensor<f32>) -> tensor<2x1x1xf32>
  %s2 = ge.sqrt %ve2 : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %n2 = ge.div %d2, %s2 : (tensor<2x3x4xf32>, tensor<2x1x1xf32>) -> tensor<2x3x4xf32>
  func.return %n, %n2 : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// gamma of shape 1x1x8 has more dims than the normalized 8: LayerNorm does not take it, so
// the normalization is recognized and the multiply stays.
// CHECK-LABEL: func.func @layer_norm_keeps_unsupported_gamma
// CHECK:         %[[L:.+]] = ge.layer_norm %x, %{{.+}} {axis = -1 : i64
// CHECK:         ge.mul %[[L]], %g
func.func @layer_norm_keeps_unsupported_gamma(%x: tensor<2x4x8xf32>, %g: tensor<1x1x8xf32>) -> tensor<2x4x8xf32> {
  %two = ge.constant dense<2.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-05> : tensor<f32>
  %mean = ge.reduce_mean %x {axes = array<i64: -1>, keepdims = true} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %d = ge.sub %x, %mean : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %p = ge.pow %d, %two : (tensor<2x4x8xf32>, tensor<f32>) -> tensor<2x4x8xf32>
  %var = ge.reduce_mean %p {axes = array<i64: -1>, keepdims = true} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %ve = ge.add %var, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %s = ge.sqrt %ve : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %n = ge.div %d, %s : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %m = ge.mul %n, %g : (tensor<2x4x8xf32>, tensor<1x1x8xf32>) -> tensor<2x4x8xf32>
  func.return %m : tensor<2x4x8xf32>
}

// -----

// TensorFlow's form, as tf2onnx writes BERT: x * scale + (beta - mean * scale),
// scale = gamma * 1 / sqrt(mean((x - mean)^2) + eps), operands commuted.
// CHECK-LABEL: func.func @layer_norm_tensorflow
// CHECK-SAME:    (%[[X:.+]]: tensor<2x4x8xf32>, %[[G:.+]]: tensor<8xf32>, %[[B:.+]]: tensor<8xf32>)
// CHECK-NEXT:    %[[Y:.+]] = ge.layer_norm %[[X]], %[[G]], %[[B]] {axis = -1 : i64, epsilon = 1.000000e-12 : f64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @layer_norm_tensorflow(%x: tensor<2x4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x4x8xf32> {
  %eps = ge.constant dense<1.0e-12> : tensor<f32>
  %mean = ge.reduce_mean %x {axes = array<i64: -1>, keepdims = true} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %d = ge.sub %x, %mean : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %dd = ge.mul %d, %d : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %var = ge.reduce_mean %dd {axes = array<i64: -1>, keepdims = true} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %ve = ge.add %eps, %var : (tensor<f32>, tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %s = ge.sqrt %ve : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %r = ge.reciprocal %s : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %scale = ge.mul %g, %r : (tensor<8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %xs = ge.mul %x, %scale : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %ms = ge.mul %scale, %mean : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %shift = ge.sub %b, %ms : (tensor<8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %y = ge.add %shift, %xs : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %y : tensor<2x4x8xf32>
}

// -----

// Without gamma (scale is the reciprocal itself): ones as the scale.
// CHECK-LABEL: func.func @layer_norm_tensorflow_no_gamma
// CHECK:         %[[ONES:.+]] = ge.constant dense<1.000000e+00> : tensor<8xf32>
// CHECK-NEXT:    ge.layer_norm %x, %[[ONES]], %b {axis = -1 : i64, epsilon = 1.000000e-03 : f64}
// CHECK-NOT:     ge.reduce_mean
func.func @layer_norm_tensorflow_no_gamma(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %two = ge.constant dense<2.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-03> : tensor<f32>
  %mean = ge.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %d = ge.sub %x, %mean : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %dd = ge.pow %d, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %var = ge.reduce_mean %dd {axes = array<i64: 1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %ve = ge.add %var, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ge.sqrt %ve : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %r = ge.reciprocal %s : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %xs = ge.mul %x, %r : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %ms = ge.mul %mean, %r : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %shift = ge.sub %b, %ms : (tensor<8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %y = ge.add %xs, %shift : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}

// -----

// The mean is returned too: no rewrite (it would be lost).
// CHECK-LABEL: func.func @no_recognize_tensorflow_shared_values
// CHECK-NOT:     ge.layer_norm
func.func @no_recognize_tensorflow_shared_values(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>) {
  %eps = ge.constant dense<1.0e-03> : tensor<f32>
  %mean = ge.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %d = ge.sub %x, %mean : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %dd = ge.mul %d, %d : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %var = ge.reduce_mean %dd {axes = array<i64: 1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %ve = ge.add %var, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ge.sqrt %ve : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %r = ge.reciprocal %s : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %xs = ge.mul %x, %r : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %ms = ge.mul %mean, %r : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %shift = ge.sub %b, %ms : (tensor<8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %y = ge.add %xs, %shift : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %y, %mean : tensor<4x8xf32>, tensor<4x1xf32>
}
