// RUN: ge-opt %s --split-input-file -p split-pointwise-convs | filecheck %s

// A 1x1 conv of 512 channels on 4x4 pixels is bound by its cores' loads: K splits, the relu
// moves into the 3x3 conv's loads, with its provenance.
// CHECK-LABEL: func.func @moved
// CHECK: %[[Y:.+]] = kernel.conv2d %x, %w1 bias %b
// CHECK-NOT: activation
// CHECK-SAME: fused_from = ["ge.conv2d", "ge.add"]
// CHECK-NOT: activation
// CHECK-NEXT: kernel.conv2d %[[Y]], %w2
// CHECK-SAME: activation = "relu"
// CHECK-SAME: fused_from = ["ge.relu", "ge.conv2d", "ge.relu"]
// CHECK-SAME: input_activation = "relu"
func.func @moved(%x: tensor<1x512x4x4xf32>, %w1: tensor<16x512x1x1xf32>, %b: tensor<16xf32>, %w2: tensor<8x16x3x3xf32>) -> tensor<1x8x4x4xf32> {
  %y = kernel.conv2d %x, %w1 bias %b : tensor<16xf32> {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 0, 0, 0, 0>, activation = "relu", fused_from = ["ge.conv2d", "ge.add", "ge.relu"]} : tensor<1x512x4x4xf32>, tensor<16x512x1x1xf32> -> tensor<1x16x4x4xf32>
  %z = kernel.conv2d %y, %w2 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 1, 1, 1, 1>, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x16x4x4xf32>, tensor<8x16x3x3xf32> -> tensor<1x8x4x4xf32>
  func.return %z : tensor<1x8x4x4xf32>
}

// -----

// The activation's attributes go with it.
// CHECK-LABEL: func.func @moved_with_attributes
// CHECK: kernel.conv2d %x, %w1 bias %b
// CHECK-NOT: clip
// CHECK: kernel.conv2d
// CHECK-SAME: input_activation = "clip", input_activation_attrs = {min = 0.000000e+00 : f64, max = 6.000000e+00 : f64}
func.func @moved_with_attributes(%x: tensor<1x512x4x4xf32>, %w1: tensor<16x512x1x1xf32>, %b: tensor<16xf32>, %w2: tensor<8x16x3x3xf32>) -> tensor<1x8x4x4xf32> {
  %y = kernel.conv2d %x, %w1 bias %b : tensor<16xf32> {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 0, 0, 0, 0>, activation = "clip", activation_attrs = {min = 0.0 : f64, max = 6.0 : f64}, fused_from = ["ge.conv2d", "ge.clip"]} : tensor<1x512x4x4xf32>, tensor<16x512x1x1xf32> -> tensor<1x16x4x4xf32>
  %z = kernel.conv2d %y, %w2 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 1, 1, 1, 1>, fused_from = ["ge.conv2d"]} : tensor<1x16x4x4xf32>, tensor<8x16x3x3xf32> -> tensor<1x8x4x4xf32>
  func.return %z : tensor<1x8x4x4xf32>
}

// -----

// The relu'd value has another user: it stays where it is.
// CHECK-LABEL: func.func @second_user
// CHECK: kernel.conv2d %x, %w1 bias %b
// CHECK-SAME: activation = "relu"
// CHECK-NOT: input_activation
func.func @second_user(%x: tensor<1x512x4x4xf32>, %w1: tensor<16x512x1x1xf32>, %b: tensor<16xf32>, %w2: tensor<8x16x3x3xf32>) -> (tensor<1x16x4x4xf32>, tensor<1x8x4x4xf32>) {
  %y = kernel.conv2d %x, %w1 bias %b : tensor<16xf32> {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 0, 0, 0, 0>, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x512x4x4xf32>, tensor<16x512x1x1xf32> -> tensor<1x16x4x4xf32>
  %z = kernel.conv2d %y, %w2 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 1, 1, 1, 1>, fused_from = ["ge.conv2d"]} : tensor<1x16x4x4xf32>, tensor<8x16x3x3xf32> -> tensor<1x8x4x4xf32>
  func.return %y, %z : tensor<1x16x4x4xf32>, tensor<1x8x4x4xf32>
}

// -----

// sigmoid(0) = 0.5: the consumer's staged padding would change, so it stays.
// CHECK-LABEL: func.func @not_zero_keeping
// CHECK: activation = "sigmoid"
// CHECK-NOT: input_activation
func.func @not_zero_keeping(%x: tensor<1x512x4x4xf32>, %w1: tensor<16x512x1x1xf32>, %b: tensor<16xf32>, %w2: tensor<8x16x3x3xf32>) -> tensor<1x8x4x4xf32> {
  %y = kernel.conv2d %x, %w1 bias %b : tensor<16xf32> {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 0, 0, 0, 0>, activation = "sigmoid", fused_from = ["ge.conv2d", "ge.sigmoid"]} : tensor<1x512x4x4xf32>, tensor<16x512x1x1xf32> -> tensor<1x16x4x4xf32>
  %z = kernel.conv2d %y, %w2 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 1, 1, 1, 1>, fused_from = ["ge.conv2d"]} : tensor<1x16x4x4xf32>, tensor<8x16x3x3xf32> -> tensor<1x8x4x4xf32>
  func.return %z : tensor<1x8x4x4xf32>
}

// -----

// A pointwise consumer loads its image straight into L1 (a GEMM): no staged rows.
// CHECK-LABEL: func.func @pointwise_consumer
// CHECK: activation = "relu"
// CHECK-NOT: input_activation
func.func @pointwise_consumer(%x: tensor<1x512x4x4xf32>, %w1: tensor<16x512x1x1xf32>, %b: tensor<16xf32>, %w3: tensor<8x16x1x1xf32>) -> tensor<1x8x4x4xf32> {
  %y = kernel.conv2d %x, %w1 bias %b : tensor<16xf32> {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 0, 0, 0, 0>, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x512x4x4xf32>, tensor<16x512x1x1xf32> -> tensor<1x16x4x4xf32>
  %z = kernel.conv2d %y, %w3 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 0, 0, 0, 0>, fused_from = ["ge.conv2d"]} : tensor<1x16x4x4xf32>, tensor<8x16x1x1xf32> -> tensor<1x8x4x4xf32>
  func.return %z : tensor<1x8x4x4xf32>
}

// -----

// 64 input channels: no split pays, nothing moves.
// CHECK-LABEL: func.func @shallow
// CHECK: activation = "relu"
// CHECK-NOT: input_activation
func.func @shallow(%x: tensor<1x64x4x4xf32>, %w1: tensor<16x64x1x1xf32>, %b: tensor<16xf32>, %w2: tensor<8x16x3x3xf32>) -> tensor<1x8x4x4xf32> {
  %y = kernel.conv2d %x, %w1 bias %b : tensor<16xf32> {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 0, 0, 0, 0>, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x64x4x4xf32>, tensor<16x64x1x1xf32> -> tensor<1x16x4x4xf32>
  %z = kernel.conv2d %y, %w2 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", pads = array<i64: 1, 1, 1, 1>, fused_from = ["ge.conv2d"]} : tensor<1x16x4x4xf32>, tensor<8x16x3x3xf32> -> tensor<1x8x4x4xf32>
  func.return %z : tensor<1x8x4x4xf32>
}
