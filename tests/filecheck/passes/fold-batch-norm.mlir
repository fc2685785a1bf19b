// RUN: ge-opt %s --split-input-file -p fold-batch-norm | filecheck %s

// s = scale / sqrt(var) = [2, 1, 2], t = bias - mean * s = [-1, 1, -3]:
// W' = W * s per output channel, b' = t (the conv had no bias).
// CHECK-LABEL: func.func @fold_conv_bn
// CHECK:         %[[W:.+]] = ge.constant dense<{{\[\[\[\[}}2.000000e+00]], {{\[\[}}4.000000e+00]]], {{\[\[\[}}3.000000e+00]], {{\[\[}}4.000000e+00]]], {{\[\[\[}}1.000000e+01]], {{\[\[}}1.200000e+01]]]]> : tensor<3x2x1x1xf32>
// CHECK:         %[[B:.+]] = ge.constant dense<[-1.000000e+00, 1.000000e+00, -3.000000e+00]> : tensor<3xf32>
// CHECK:         %[[Y:.+]] = ge.conv2d %x, %[[W]], %[[B]]
// CHECK-NOT:     ge.batch_norm
// CHECK:         func.return %[[Y]]
func.func @fold_conv_bn(%x: tensor<1x2x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = ge.constant dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]], [[[5.0]], [[6.0]]]]> : tensor<3x2x1x1xf32>
  %scale = ge.constant dense<[2.0, 2.0, 1.0]> : tensor<3xf32>
  %bias = ge.constant dense<[0.0, 1.0, -1.0]> : tensor<3xf32>
  %mean = ge.constant dense<[0.5, 0.0, 1.0]> : tensor<3xf32>
  %var = ge.constant dense<[1.0, 4.0, 0.25]> : tensor<3xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x4x4xf32>
  %y = ge.batch_norm %c, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  func.return %y : tensor<1x3x4x4xf32>
}

// -----

// A depthwise conv with a bias: b' = b * s + t.
// CHECK-LABEL: func.func @fold_depthwise_conv_bn
// CHECK:         %[[B:.+]] = ge.constant dense<[1.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK:         ge.conv2d %x, %{{.+}}, %[[B]] {{.*}}groups = 2
// CHECK-NOT:     ge.batch_norm
func.func @fold_depthwise_conv_bn(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %w = ge.constant dense<1.0> : tensor<2x1x3x3xf32>
  %b = ge.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %scale = ge.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %bias = ge.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %mean = ge.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %var = ge.constant dense<1.0> : tensor<2xf32>
  %c = ge.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x2x4x4xf32>, tensor<2x1x3x3xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %y = ge.batch_norm %c, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %y : tensor<1x2x2x2xf32>
}

// -----

// A transposed conv's output channel is the weight's dim 1: W'[:, o] = W[:, o] * s[o].
// CHECK-LABEL: func.func @fold_conv_transpose_bn
// CHECK:         %[[W:.+]] = ge.constant dense<{{\[\[\[\[}}1.000000e+00]], {{\[\[}}3.000000e+00]]]]> : tensor<1x2x1x1xf32>
// CHECK:         ge.conv_transpose2d %x, %[[W]], %{{.+}}
// CHECK-NOT:     ge.batch_norm
func.func @fold_conv_transpose_bn(%x: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = ge.constant dense<1.0> : tensor<1x2x1x1xf32>
  %scale = ge.constant dense<[1.0, 3.0]> : tensor<2xf32>
  %bias = ge.constant dense<0.0> : tensor<2xf32>
  %mean = ge.constant dense<0.0> : tensor<2xf32>
  %var = ge.constant dense<1.0> : tensor<2xf32>
  %c = ge.conv_transpose2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x1x2x2xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x2x2xf32>
  %y = ge.batch_norm %c, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %y : tensor<1x2x2x2xf32>
}

// -----

// The Gemm form (matmul + bias) with a 2-D result: the channel is the last dim, so the
// columns of the constant rhs are scaled.
// CHECK-LABEL: func.func @fold_gemm_bn
// CHECK:         %[[W:.+]] = ge.constant dense<{{\[}}[2.000000e+00, 1.000000e+00], [2.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK:         %[[B:.+]] = ge.constant dense<[4.000000e+00, 1.000000e+00]> : tensor<2xf32>
// CHECK:         %[[M:.+]] = ge.matmul %x, %[[W]]
// CHECK:         %[[Y:.+]] = ge.add %[[M]], %[[B]]
// CHECK-NOT:     ge.batch_norm
// CHECK:         func.return %[[Y]]
func.func @fold_gemm_bn(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ge.constant dense<1.0> : tensor<2x2xf32>
  %b = ge.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %scale = ge.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %bias = ge.constant dense<0.0> : tensor<2xf32>
  %mean = ge.constant dense<0.0> : tensor<2xf32>
  %var = ge.constant dense<1.0> : tensor<2xf32>
  %m = ge.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %a = ge.add %b, %m : (tensor<2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  %y = ge.batch_norm %a, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  func.return %y : tensor<3x2xf32>
}

// -----

// A 3-D result (N, C, L) = W (C, K) @ x (N, K, L): the rows of the constant lhs are scaled.
// CHECK-LABEL: func.func @fold_matmul_rows_bn
// CHECK:         %[[W:.+]] = ge.constant dense<3.000000e+00> : tensor<1x2xf32>
// CHECK:         %[[M:.+]] = ge.matmul %[[W]], %x
// CHECK:         ge.add %[[M]]
// CHECK-NOT:     ge.batch_norm
func.func @fold_matmul_rows_bn(%x: tensor<4x2x5xf32>) -> tensor<4x1x5xf32> {
  %w = ge.constant dense<1.0> : tensor<1x2xf32>
  %scale = ge.constant dense<3.0> : tensor<1xf32>
  %bias = ge.constant dense<0.0> : tensor<1xf32>
  %mean = ge.constant dense<0.0> : tensor<1xf32>
  %var = ge.constant dense<1.0> : tensor<1xf32>
  %m = ge.matmul %w, %x : (tensor<1x2xf32>, tensor<4x2x5xf32>) -> tensor<4x1x5xf32>
  %y = ge.batch_norm %m, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<4x1x5xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x1x5xf32>
  func.return %y : tensor<4x1x5xf32>
}

// -----

// BN before a matmul: (x * s + t) @ W = x @ (s[:, None] * W) + t @ W.
// CHECK-LABEL: func.func @fold_bn_into_following_matmul
// CHECK:         %[[W:.+]] = ge.constant dense<{{\[}}[2.000000e+00, 2.000000e+00, 2.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00]]> : tensor<2x3xf32>
// CHECK:         %[[B:.+]] = ge.constant dense<-1.000000e+00> : tensor<3xf32>
// CHECK:         %[[M:.+]] = ge.matmul %x, %[[W]]
// CHECK:         ge.add %[[M]], %[[B]]
// CHECK-NOT:     ge.batch_norm
func.func @fold_bn_into_following_matmul(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = ge.constant dense<1.0> : tensor<2x3xf32>
  %scale = ge.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %bias = ge.constant dense<0.0> : tensor<2xf32>
  %mean = ge.constant dense<[0.5, 0.0]> : tensor<2xf32>
  %var = ge.constant dense<1.0> : tensor<2xf32>
  %n = ge.batch_norm %x, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<4x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %y = ge.matmul %n, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  func.return %y : tensor<4x3xf32>
}

// -----

// The conv result has a second consumer that needs the un-normalized values: the conv
// stays as it is, and the BN becomes a per-channel multiply-add.
// CHECK-LABEL: func.func @no_fold_second_consumer
// CHECK:         %[[C:.+]] = ge.conv2d %x, %w {
// CHECK:         %[[M:.+]] = ge.mul %[[C]], %{{.+}} : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>)
// CHECK:         %[[Y:.+]] = ge.add %[[M]], %{{.+}} : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>)
// CHECK-NOT:     ge.batch_norm
// CHECK:         func.return %[[Y]], %[[C]]
func.func @no_fold_second_consumer(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = ge.constant dense<1.0> : tensor<2x2x1x1xf32>
  %scale = ge.constant dense<2.0> : tensor<2xf32>
  %bias = ge.constant dense<0.0> : tensor<2xf32>
  %mean = ge.constant dense<0.0> : tensor<2xf32>
  %var = ge.constant dense<1.0> : tensor<2xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = ge.batch_norm %c, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %y, %c : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// The weight is shared by two convs: folding would need a second copy of it.
// CHECK-LABEL: func.func @no_fold_shared_weight
// CHECK:         ge.conv2d %x, %w {
// CHECK:         ge.conv2d %x, %w {
// CHECK-NOT:     ge.batch_norm
func.func @no_fold_shared_weight(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = ge.constant dense<1.0> : tensor<2x2x1x1xf32>
  %scale = ge.constant dense<2.0> : tensor<2xf32>
  %bias = ge.constant dense<0.0> : tensor<2xf32>
  %mean = ge.constant dense<0.0> : tensor<2xf32>
  %var = ge.constant dense<1.0> : tensor<2xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %d = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = ge.batch_norm %c, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %y, %d : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// Parameters known only at run time: nothing to fold.
// CHECK-LABEL: func.func @no_fold_runtime_params
// CHECK:         ge.conv2d %x, %w {
// CHECK:         ge.batch_norm
func.func @no_fold_runtime_params(%x: tensor<1x2x4x4xf32>, %scale: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %w = ge.constant dense<1.0> : tensor<2x2x1x1xf32>
  %bias = ge.constant dense<0.0> : tensor<2xf32>
  %mean = ge.constant dense<0.0> : tensor<2xf32>
  %var = ge.constant dense<1.0> : tensor<2xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = ge.batch_norm %c, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}

// -----

// A BN with no conv or matmul before it: x * s + t with s, t shaped (C, 1, 1).
// CHECK-LABEL: func.func @standalone_bn_to_scale_shift
// CHECK:         %[[S:.+]] = ge.constant dense<{{\[\[\[}}2.000000e+00]], {{\[\[}}5.000000e-01]]]> : tensor<2x1x1xf32>
// CHECK:         %[[T:.+]] = ge.constant dense<{{\[\[\[}}1.000000e+00]], {{\[\[}}-5.000000e-01]]]> : tensor<2x1x1xf32>
// CHECK:         %[[M:.+]] = ge.mul %x, %[[S]]
// CHECK:         %[[Y:.+]] = ge.add %[[M]], %[[T]]
// CHECK:         func.return %[[Y]]
func.func @standalone_bn_to_scale_shift(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %scale = ge.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %bias = ge.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %mean = ge.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %var = ge.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %y = ge.batch_norm %x, %scale, %bias, %mean, %var {epsilon = 0.0 : f64} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}
