// RUN: ge-opt %s --split-input-file -p convert-ge-to-kernel,dce | filecheck %s

// Every op becomes its one-op kernel; a splat constant moves into the elementwise body.
// CHECK-LABEL: func.func @one_to_one
// CHECK-SAME: (%[[X:.+]]: tensor<1x4x6x6xf32>, %[[W:.+]]: tensor<4x4x3x3xf32>, %[[B:.+]]: tensor<4xf32>, %[[A:.+]]: tensor<2x3xf32>)
// CHECK: %[[C:.+]] = kernel.conv2d %[[X]], %[[W]] bias %[[B]] : tensor<4xf32> {{{.*}}fused_from = ["ge.conv2d"]
// CHECK: %[[M:.+]] = kernel.elementwise %[[C]] {fused_from = ["ge.mul"]}
// CHECK-NEXT: ^{{.*}}(%[[S:[^:]+]]: tensor<f32>):
// CHECK-NEXT: %[[H:.+]] = ge.constant dense<5.000000e-01> : tensor<f32>
// CHECK-NEXT: %[[P:.+]] = ge.mul %[[S]], %[[H]] : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK-NEXT: kernel.yield %[[P]] : tensor<f32>
// CHECK: %[[R:.+]] = kernel.elementwise %[[M]] {fused_from = ["ge.relu"]}
// CHECK: %[[T:.+]] = kernel.transpose %[[A]] {fused_from = ["ge.transpose"], perm = array<i64: 1, 0>}
// CHECK: %[[G:.+]] = kernel.pool %[[R]] {fused_from = ["ge.global_avg_pool"], kind = "global_avg"}
// CHECK: %[[Q:.+]] = kernel.reduce %[[G]] {axes = array<i64: 1>, keepdims = false, fused_from = ["ge.reduce_max"], kind = "max"}
// CHECK-NOT: ge.dropout
// CHECK: func.return %[[R]], %[[T]], %[[Q]]
func.func @one_to_one(%x: tensor<1x4x6x6xf32>, %w: tensor<4x4x3x3xf32>, %b: tensor<4xf32>, %a: tensor<2x3xf32>) -> (tensor<1x4x6x6xf32>, tensor<3x2xf32>, tensor<1x1x1xf32>) {
  %c = ge.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %h = ge.constant dense<0.5> : tensor<1xf32>
  %m = ge.mul %c, %h : (tensor<1x4x6x6xf32>, tensor<1xf32>) -> tensor<1x4x6x6xf32>
  %r = ge.relu %m : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %d = ge.dropout %r {ratio = 0.5 : f64, is_training = false, seed = 0 : i64} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %t = ge.transpose %a {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %g = ge.global_avg_pool %d : (tensor<1x4x6x6xf32>) -> tensor<1x4x1x1xf32>
  %q = ge.reduce_max %g {axes = array<i64: 1>, keepdims = false} : (tensor<1x4x1x1xf32>) -> tensor<1x1x1xf32>
  func.return %d, %t, %q : tensor<1x4x6x6xf32>, tensor<3x2xf32>, tensor<1x1x1xf32>
}

// -----

// A training-mode dropout draws a mask: it stays, as its own kernel.
// CHECK-LABEL: func.func @training_dropout
// CHECK: kernel.dropout %{{.+}} {ratio = 5.000000e-01 : f64, is_training = true, seed = 3 : i64, fused_from = ["ge.dropout"]}
func.func @training_dropout(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %d = ge.dropout %x {ratio = 0.5 : f64, is_training = true, seed = 3 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %d : tensor<4x4xf32>
}

// -----

// ge.expand is an elementwise identity whose result is larger than its input.
// CHECK-LABEL: func.func @expand
// CHECK: kernel.elementwise %{{.+}} {fused_from = ["ge.expand"]} : (tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: ^{{.*}}(%[[E:[^:]+]]: tensor<f32>):
// CHECK-NEXT: kernel.yield %[[E]] : tensor<f32>
func.func @expand(%x: tensor<3xf32>) -> tensor<2x3xf32> {
  %e = ge.expand %x {shape = array<i64: 2, 3>} : (tensor<3xf32>) -> tensor<2x3xf32>
  func.return %e : tensor<2x3xf32>
}
