// RUN: ge-opt %s --split-input-file -p fuse-conv-bn-relu | filecheck %s

// The BN folds into the conv's private weight (W * s, b * s + t); relu is the activation.
// CHECK-LABEL: func.func @conv_bn_relu
// CHECK-SAME: (%[[X:.+]]: tensor<1x2x3x3xf32>)
// CHECK-NEXT: %[[W:.+]] = ge.constant dense<{{\[\[\[\[}}2.000000e+00]], {{\[\[}}4.000000e+00]]], {{\[\[\[}}3.000000e+00]], {{\[\[}}4.000000e+00]]]]> : tensor<2x2x1x1xf32>
// CHECK-NEXT: %[[B:.+]] = ge.constant dense<[-1.500000e+00, -5.000000e-01]> : tensor<2xf32>
// CHECK-NEXT: %[[Y:.+]] = kernel.conv2d %[[X]], %[[W]] bias %[[B]] : tensor<2xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.batch_norm", "ge.relu"], activation = "relu"}
// CHECK-NOT: ge.batch_norm
// CHECK-NOT: ge.relu
// CHECK: func.return %[[Y]]
func.func @conv_bn_relu(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = ge.constant dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]]]> : tensor<2x2x1x1xf32>
  %s = ge.constant dense<[4.0, 1.0]> : tensor<2xf32>
  %b = ge.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %m = ge.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %v = ge.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %n = ge.batch_norm %c, %s, %b, %m, %v {epsilon = 1.0 : f64} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.relu %n : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r : tensor<1x2x3x3xf32>
}

// -----

// BN already folded by fold-batch-norm: conv (with bias) + relu still fuse.
// CHECK-LABEL: func.func @bn_already_folded
// CHECK: %[[Y:.+]] = kernel.conv2d %{{.+}}, %{{.+}} bias %{{.+}} : tensor<2xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.relu"], activation = "relu"}
// CHECK-NEXT: func.return %[[Y]]
func.func @bn_already_folded(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>, %b: tensor<2xf32>) -> tensor<1x2x3x3xf32> {
  %c = ge.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.relu %c : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r : tensor<1x2x3x3xf32>
}

// -----

// The weight is a runtime value (or shared): the BN becomes a scale/shift epilogue.
// CHECK-LABEL: func.func @runtime_weight
// CHECK-DAG: %[[S:.+]] = ge.constant dense<[2.000000e+00, 1.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[T:.+]] = ge.constant dense<[-1.500000e+00, -5.000000e-01]> : tensor<2xf32>
// CHECK: kernel.conv2d %{{.+}}, %{{.+}} scale %[[S]] : tensor<2xf32> shift %[[T]] : tensor<2xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.batch_norm"]}
// CHECK-NOT: ge.batch_norm
func.func @runtime_weight(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %s = ge.constant dense<[4.0, 1.0]> : tensor<2xf32>
  %b = ge.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %m = ge.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %v = ge.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %n = ge.batch_norm %c, %s, %b, %m, %v {epsilon = 1.0 : f64} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  func.return %n : tensor<1x2x3x3xf32>
}

// -----

// Depthwise (grouped) convs fuse too: the epilogue is per output channel.
// CHECK-LABEL: func.func @depthwise_conv_bn_relu
// CHECK: kernel.conv2d {{.*}}groups = 2 : i64, fused_from = ["ge.conv2d", "ge.batch_norm", "ge.relu"], activation = "relu"}
// CHECK-NOT: ge.conv2d
func.func @depthwise_conv_bn_relu(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = ge.constant dense<[[[[1.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %s = ge.constant dense<[4.0, 1.0]> : tensor<2xf32>
  %b = ge.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %m = ge.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %v = ge.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x2x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x3x3xf32>
  %n = ge.batch_norm %c, %s, %b, %m, %v {epsilon = 1.0 : f64} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.relu %n : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r : tensor<1x2x3x3xf32>
}

// -----

// The conv result has a second consumer: fusing would drop work it needs.
// CHECK-LABEL: func.func @no_fuse_second_consumer
// CHECK: %[[C:.+]] = ge.conv2d
// CHECK-NEXT: %[[R:.+]] = ge.relu %[[C]]
// CHECK-NEXT: func.return %[[R]], %[[C]]
func.func @no_fuse_second_consumer(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.relu %c : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r, %c : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}

// -----

// BN parameters known only at run time: not a weight transform, left alone.
// CHECK-LABEL: func.func @no_fuse_runtime_bn
// CHECK: ge.conv2d
// CHECK-NEXT: ge.batch_norm
func.func @no_fuse_runtime_bn(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>, %m: tensor<2xf32>) -> tensor<1x2x3x3xf32> {
  %s = ge.constant dense<[4.0, 1.0]> : tensor<2xf32>
  %b = ge.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %v = ge.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %n = ge.batch_norm %c, %s, %b, %m, %v {epsilon = 1.0 : f64} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  func.return %n : tensor<1x2x3x3xf32>
}
