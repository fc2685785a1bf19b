// RUN: ge-opt %s --split-input-file -p recognize-rms-norm | filecheck %s

// LLaMA's RMSNorm as torch.onnx.export writes it: weight * (x * rsqrt(mean(x^2) + eps)).
// CHECK-LABEL: func.func @rms_norm_llama_export
// CHECK-SAME:    (%[[X:.+]]: tensor<2x4x8xf32>, %[[W:.+]]: tensor<8xf32>)
// CHECK-NEXT:    %[[Y:.+]] = ge.rms_norm %[[X]], %[[W]] {axis = -1 : i64, epsilon = 1.000000e-06 : f64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @rms_norm_llama_export(%x: tensor<2x4x8xf32>, %w: tensor<8xf32>) -> tensor<2x4x8xf32> {
  %two = ge.constant dense<2.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-06> : tensor<f32>
  %p = ge.pow %x, %two : (tensor<2x4x8xf32>, tensor<f32>) -> tensor<2x4x8xf32>
  %ms = ge.reduce_mean %p {axes = array<i64: -1>, keepdims = true} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %me = ge.add %ms, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %s = ge.sqrt %me : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %r = ge.reciprocal %s : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %n = ge.mul %x, %r : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %y = ge.mul %w, %n : (tensor<8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %y : tensor<2x4x8xf32>
}

// -----

// x * x, eps first, a division and no weight (x also used elsewhere): the scale is ones.
// CHECK-LABEL: func.func @rms_norm_div_no_weight
// CHECK:         %[[ONES:.+]] = ge.constant dense<1.000000e+00> : tensor<8xf32>
// CHECK-NEXT:    %[[Y:.+]] = ge.rms_norm %x, %[[ONES]] {axis = -1 : i64, epsilon = 1.000000e-05 : f64}
// CHECK-NOT:     ge.reduce_mean
// CHECK:         func.return %[[Y]], %x
func.func @rms_norm_div_no_weight(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %eps = ge.constant dense<1.0e-05> : tensor<1xf32>
  %p = ge.mul %x, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %ms = ge.reduce_mean %p {axes = array<i64: 1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %me = ge.add %eps, %ms : (tensor<1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %s = ge.sqrt %me : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %n = ge.div %x, %s : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  func.return %n, %x : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// The mean over a leading axis is not an RMSNorm.
// CHECK-LABEL: func.func @no_rms_norm_leading_axis
// CHECK-NOT:     ge.rms_norm
// CHECK:         ge.reciprocal
func.func @no_rms_norm_leading_axis(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %two = ge.constant dense<2.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-06> : tensor<f32>
  %p = ge.pow %x, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %ms = ge.reduce_mean %p {axes = array<i64: 0>, keepdims = true} : (tensor<4x8xf32>) -> tensor<1x8xf32>
  %me = ge.add %ms, %eps : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
  %s = ge.sqrt %me : (tensor<1x8xf32>) -> tensor<1x8xf32>
  %r = ge.reciprocal %s : (tensor<1x8xf32>) -> tensor<1x8xf32>
  %n = ge.mul %x, %r : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  func.return %n : tensor<4x8xf32>
}

// -----

// Pow(x, 3) is not a square.
// CHECK-LABEL: func.func @no_rms_norm_cube
// CHECK-NOT:     ge.rms_norm
// CHECK:         ge.pow
func.func @no_rms_norm_cube(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %three = ge.constant dense<3.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-06> : tensor<f32>
  %p = ge.pow %x, %three : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %ms = ge.reduce_mean %p {axes = array<i64: -1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %me = ge.add %ms, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ge.sqrt %me : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %n = ge.div %x, %s : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  func.return %n : tensor<4x8xf32>
}

// -----

// The mean square is also returned: removing the chain would lose it.
// CHECK-LABEL: func.func @no_rms_norm_second_consumer
// CHECK-NOT:     ge.rms_norm
// CHECK:         ge.div
func.func @no_rms_norm_second_consumer(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>) {
  %eps = ge.constant dense<1.0e-06> : tensor<f32>
  %p = ge.mul %x, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %ms = ge.reduce_mean %p {axes = array<i64: -1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %me = ge.add %ms, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ge.sqrt %me : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %n = ge.div %x, %s : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  func.return %n, %ms : tensor<4x8xf32>, tensor<4x1xf32>
}

// -----

// HF LLaMA's f16 form: the chain runs in f32 between casts and the weight multiplies the
// f16 result. The chain becomes ge.rms_norm of the f32 value (scale ones); the casts and the
// weight stay around it (fuse-elementwise takes them).
// CHECK-LABEL: func.func @rms_norm_f16_between_casts
// CHECK:         %[[X32:.+]] = ge.cast %x {to = f32}
// CHECK:         %[[ONES:.+]] = ge.constant dense<1.000000e+00> : tensor<8xf32>
// CHECK-NEXT:    %[[N:.+]] = ge.rms_norm %[[X32]], %[[ONES]] {axis = -1 : i64, epsilon = 1.000000e-06 : f64}
// CHECK-NEXT:    %[[N16:.+]] = ge.cast %[[N]] {to = f16}
// CHECK-NEXT:    %[[Y:.+]] = ge.mul %w, %[[N16]]
// CHECK-NEXT:    func.return %[[Y]]
func.func @rms_norm_f16_between_casts(%x: tensor<4x8xf16>, %w: tensor<8xf16>) -> tensor<4x8xf16> {
  %two = ge.constant dense<2.0> : tensor<f32>
  %eps = ge.constant dense<1.0e-06> : tensor<f32>
  %x32 = ge.cast %x {to = f32} : (tensor<4x8xf16>) -> tensor<4x8xf32>
  %p = ge.pow %x32, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %ms = ge.reduce_mean %p {axes = array<i64: -1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %me = ge.add %ms, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ge.sqrt %me : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %r = ge.reciprocal %s : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %n = ge.mul %x32, %r : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %n16 = ge.cast %n {to = f16} : (tensor<4x8xf32>) -> tensor<4x8xf16>
  %y = ge.mul %w, %n16 : (tensor<8xf16>, tensor<4x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}
