// RUN: ge-opt %s --split-input-file -p fuse-softmax-dropout | filecheck %s

// A scale before and an inference dropout after the softmax join one kernel.
// CHECK-LABEL: func.func @scale_softmax_dropout
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>)
// CHECK-NEXT: %[[Y:.+]] = kernel.softmax %[[X]] {axis = -1 : i64, scale = 5.000000e-01 : f64, fused_from = ["ge.mul", "ge.softmax", "ge.dropout"], dropout_ratio = 1.000000e-01 : f64}
// CHECK-NEXT: func.return %[[Y]]
func.func @scale_softmax_dropout(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %c = ge.constant dense<0.5> : tensor<f32>
  %s = ge.mul %x, %c : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %d = ge.dropout %p {ratio = 0.1 : f64, is_training = false, seed = 0 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %d : tensor<2x8xf32>
}

// -----

// A training-mode dropout draws a random mask: it is never fused.
// CHECK-LABEL: func.func @no_fuse_training_dropout
// CHECK: %[[P:.+]] = ge.softmax
// CHECK-NEXT: ge.dropout %[[P]] {{{.*}}is_training = true
func.func @no_fuse_training_dropout(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %p = ge.softmax %x {axis = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %d = ge.dropout %p {ratio = 0.1 : f64, is_training = true, seed = 0 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %d : tensor<2x8xf32>
}

// -----

// The probabilities are also returned: the dropout stays separate.
// CHECK-LABEL: func.func @no_fuse_second_consumer
// CHECK: ge.softmax
// CHECK-NEXT: ge.dropout
func.func @no_fuse_second_consumer(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %p = ge.softmax %x {axis = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %d = ge.dropout %p {ratio = 0.1 : f64, is_training = false, seed = 0 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %d, %p : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// A scale that broadcasts the input to a larger shape is not a prologue.
// CHECK-LABEL: func.func @no_fuse_growing_scale
// CHECK: ge.mul
// CHECK-NEXT: ge.softmax
func.func @no_fuse_growing_scale(%x: tensor<8xf32>) -> tensor<2x8xf32> {
  %c = ge.constant dense<0.5> : tensor<2x1xf32>
  %s = ge.mul %x, %c : (tensor<8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %p = ge.softmax %s {axis = -1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %p : tensor<2x8xf32>
}
