// RUN: ge-opt %s --split-input-file -p fuse-conv-bias-activation | filecheck %s

// A per-channel constant add joins the conv's bias; relu6 (clip 0..6) is the activation.
// CHECK-LABEL: func.func @conv_bias_relu6
// CHECK: %[[B:.+]] = ge.constant dense<[1.500000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: %[[Y:.+]] = kernel.conv2d %{{.+}}, %{{.+}} bias %[[B]] : tensor<2xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.add", "ge.clip"], activation = "clip", activation_attrs = {min = 0.000000e+00 : f64, max = 6.000000e+00 : f64}}
// CHECK-NEXT: func.return %[[Y]]
func.func @conv_bias_relu6(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %b0 = ge.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %c = ge.conv2d %x, %w, %b0 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %b = ge.constant dense<[[[0.5]], [[1.0]]]> : tensor<2x1x1xf32>
  %a = ge.add %b, %c : (tensor<2x1x1xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.clip %a {min = 0.0 : f64, max = 6.0 : f64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r : tensor<1x2x3x3xf32>
}

// -----

// A per-channel multiply becomes the scale (shift 0); hard_swish the activation.
// CHECK-LABEL: func.func @conv_scale_hard_swish
// CHECK: kernel.conv2d %{{.+}}, %{{.+}} scale %{{.+}} : tensor<2xf32> shift %{{.+}} : tensor<2xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.mul", "ge.hard_swish"], activation = "hard_swish"}
func.func @conv_scale_hard_swish(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %s = ge.constant dense<[[[[0.5]], [[2.0]]]]> : tensor<1x2x1x1xf32>
  %m = ge.mul %c, %s : (tensor<1x2x3x3xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.hard_swish %m : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r : tensor<1x2x3x3xf32>
}

// -----

// Sigmoid, gelu and leaky_relu are epilogue activations too.
// CHECK-LABEL: func.func @conv_leaky_relu
// CHECK: kernel.conv2d {{.*}}fused_from = ["ge.conv2d", "ge.leaky_relu"], activation = "leaky_relu", activation_attrs = {alpha = 2.000000e-01 : f64}}
func.func @conv_leaky_relu(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.leaky_relu %c {alpha = 0.2 : f64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r : tensor<1x2x3x3xf32>
}

// -----

// An add whose other side varies over H and W is not a bias: no fusion.
// CHECK-LABEL: func.func @no_fuse_spatial_add
// CHECK: ge.conv2d
// CHECK: ge.add
func.func @no_fuse_spatial_add(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %b = ge.constant dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>
  %a = ge.add %c, %b : (tensor<1x2x3x3xf32>, tensor<1x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %a : tensor<1x2x3x3xf32>
}

// -----

// A broadcast that grows the conv's result (batch 1 -> 2) cannot be an epilogue.
// CHECK-LABEL: func.func @no_fuse_growing_broadcast
// CHECK: ge.conv2d
// CHECK-NEXT: ge.constant
// CHECK-NEXT: ge.add
func.func @no_fuse_growing_broadcast(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<2x2x3x3xf32> {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %b = ge.constant dense<1.0> : tensor<2x1x1x1xf32>
  %a = ge.add %c, %b : (tensor<1x2x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<2x2x3x3xf32>
  func.return %a : tensor<2x2x3x3xf32>
}

// -----

// The conv result is also returned: the relu stays separate.
// CHECK-LABEL: func.func @no_fuse_second_consumer
// CHECK: ge.conv2d
// CHECK-NEXT: ge.sigmoid
func.func @no_fuse_second_consumer(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.sigmoid %c : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r, %c : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}

// -----

// A transposed conv (a DCGAN's or pix2pix's upsampling) takes its activation into the
// kernel, properties and all; a second one with another user keeps its result whole.
// CHECK-LABEL: func.func @transposed_leaky
// CHECK: %[[R:.+]] = kernel.conv_transpose2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, {{.*}}fused_from = ["ge.conv_transpose2d", "ge.leaky_relu"], activation = "leaky_relu", activation_attrs = {alpha = 2.000000e-01 : f64}}
// CHECK-NEXT: %[[T:.+]] = ge.conv_transpose2d %x, %w
// CHECK-NEXT: ge.tanh %[[T]]
// CHECK-NEXT: ge.neg %[[T]]
func.func @transposed_leaky(%x: tensor<1x4x8x8xf32>, %w: tensor<4x2x4x4xf32>, %b: tensor<2xf32>) -> (tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>) {
  %t = ge.conv_transpose2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x2x4x4xf32>, tensor<2xf32>) -> tensor<1x2x16x16xf32>
  %r = ge.leaky_relu %t {alpha = 0.2 : f64} : (tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  %t2 = ge.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x2x4x4xf32>) -> tensor<1x2x16x16xf32>
  %a = ge.tanh %t2 : (tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  %n = ge.neg %t2 : (tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  func.return %r, %a, %n : tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>
}

// -----

// An activation that keeps a scratch copy of the tile (gelu) would need a second canvas in
// col2im's UB, so a transposed conv that fits whole might no longer: it stays apart.
// CHECK-LABEL: func.func @transposed_gelu
// CHECK: %[[T:.+]] = ge.conv_transpose2d %x, %w
// CHECK-NEXT: ge.gelu %[[T]]
func.func @transposed_gelu(%x: tensor<1x4x8x8xf32>, %w: tensor<4x2x2x2xf32>) -> tensor<1x2x16x16xf32> {
  %t = ge.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x2x2x2xf32>) -> tensor<1x2x16x16xf32>
  %g = ge.gelu %t : (tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  func.return %g : tensor<1x2x16x16xf32>
}
