// RUN: ge-opt %s --split-input-file -p 'fold-constants{size-limit=8}' | filecheck %s

// A shape-like computation on small integer constants vanishes entirely.
// CHECK-LABEL: func.func @fold_shape_chain
// CHECK-NEXT:    %[[C:.+]] = ge.constant dense<[2, 3, 4]> : tensor<3xi64>
// CHECK-NEXT:    func.return %[[C]]
func.func @fold_shape_chain() -> tensor<3xi64> {
  %s = ge.constant dense<[4, 3, 2]> : tensor<3xi32>
  %i = ge.constant dense<[2, 1]> : tensor<2xi64>
  %c = ge.cast %s {to = i64} : (tensor<3xi32>) -> tensor<3xi64>
  %g = ge.gather %c, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi64>) -> tensor<2xi64>
  %h = ge.slice %c {starts = array<i64: 0>, ends = array<i64: 1>, axes = array<i64: 0>, steps = array<i64: 1>} : (tensor<3xi64>) -> tensor<1xi64>
  %r = ge.concat %g, %h {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>) -> tensor<3xi64>
  func.return %r : tensor<3xi64>
}

// -----

// A weight read only by a transpose is stored transposed (the original dies), even
// above the size limit: the fold frees as much as it adds.
// CHECK-LABEL: func.func @fold_transpose_single_use_weight
// CHECK-NEXT:    %[[W:.+]] = ge.constant dense<{{\[}}[1.000000e+00, 4.000000e+00, 7.000000e+00, 1.000000e+01], {{.*}}]> : tensor<3x4xf32>
// CHECK-NEXT:    %[[Y:.+]] = ge.matmul %x, %[[W]]
// CHECK-NOT:     ge.transpose
func.func @fold_transpose_single_use_weight(%x: tensor<5x3xf32>) -> tensor<5x4xf32> {
  %w = ge.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]> : tensor<4x3xf32>
  %t = ge.transpose %w {perm = array<i64: 1, 0>} : (tensor<4x3xf32>) -> tensor<3x4xf32>
  %y = ge.matmul %x, %t : (tensor<5x3xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  func.return %y : tensor<5x4xf32>
}

// -----

// The weight has a second consumer, so a folded transpose would be a second copy of
// 12 elements, above the limit of 8: the transpose stays.
// CHECK-LABEL: func.func @no_fold_second_consumer
// CHECK:         %[[W:.+]] = ge.constant {{.*}} : tensor<4x3xf32>
// CHECK:         ge.transpose %[[W]]
// CHECK:         ge.matmul %x, %[[W]]
func.func @no_fold_second_consumer(%x: tensor<5x4xf32>, %z: tensor<5x3xf32>) -> (tensor<5x3xf32>, tensor<5x4xf32>) {
  %w = ge.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]> : tensor<4x3xf32>
  %t = ge.transpose %w {perm = array<i64: 1, 0>} : (tensor<4x3xf32>) -> tensor<3x4xf32>
  %y = ge.matmul %x, %w : (tensor<5x4xf32>, tensor<4x3xf32>) -> tensor<5x3xf32>
  %u = ge.matmul %z, %t : (tensor<5x3xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  func.return %y, %u : tensor<5x3xf32>, tensor<5x4xf32>
}

// -----

// An expand of a scalar to a large shape folds to a splat, which stores one element.
// CHECK-LABEL: func.func @fold_splat_expand
// CHECK-NEXT:    %[[C:.+]] = ge.constant dense<5.000000e-01> : tensor<4x64xf32>
// CHECK-NEXT:    %[[Y:.+]] = ge.mul %x, %[[C]]
func.func @fold_splat_expand(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %h = ge.constant dense<0.5> : tensor<1xf32>
  %e = ge.expand %h {shape = array<i64: 4, 64>} : (tensor<1xf32>) -> tensor<4x64xf32>
  %y = ge.mul %x, %e : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  func.return %y : tensor<4x64xf32>
}

// -----

// A multi-result op folds into one constant per result.
// CHECK-LABEL: func.func @fold_split
// CHECK-NEXT:    %[[A:.+]] = ge.constant dense<[1, 2]> : tensor<2xi64>
// CHECK-NEXT:    %[[B:.+]] = ge.constant dense<3> : tensor<1xi64>
// CHECK-NEXT:    func.return %[[A]], %[[B]]
func.func @fold_split() -> (tensor<2xi64>, tensor<1xi64>) {
  %c = ge.constant dense<[1, 2, 3]> : tensor<3xi64>
  %a, %b = ge.split %c {axis = 0 : i64, sizes = array<i64: 2, 1>} : (tensor<3xi64>) -> (tensor<2xi64>, tensor<1xi64>)
  func.return %a, %b : tensor<2xi64>, tensor<1xi64>
}

// -----

// An op with a runtime operand is not folded, though its other operand is constant.
// CHECK-LABEL: func.func @no_fold_runtime_operand
// CHECK:         ge.add %x
func.func @no_fold_runtime_operand(%x: tensor<2xf32>) -> tensor<2xf32> {
  %c = ge.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = ge.add %x, %c : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %y : tensor<2xf32>
}

// -----

// An elided constant has no data to fold with.
// CHECK-LABEL: func.func @no_fold_elided
// CHECK:         ge.neg
func.func @no_fold_elided() -> tensor<2xf32> {
  %c = ge.constant elided<"sha256:0123456789abcdef"> : tensor<2xf32>
  %y = ge.neg %c : (tensor<2xf32>) -> tensor<2xf32>
  func.return %y : tensor<2xf32>
}

// -----

// A gather index out of range cannot be evaluated: the op stays, for execution to report.
// CHECK-LABEL: func.func @no_fold_invalid_index
// CHECK:         ge.gather
func.func @no_fold_invalid_index() -> tensor<1xf32> {
  %c = ge.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %i = ge.constant dense<[7]> : tensor<1xi64>
  %g = ge.gather %c, %i {axis = 0 : i64} : (tensor<2xf32>, tensor<1xi64>) -> tensor<1xf32>
  func.return %g : tensor<1xf32>
}

// -----

// A tensor with no elements has no values to know, whatever defines it: a reduction over
// an empty axis is its identity (0 for a sum, -inf for a max), whatever the argument holds.
// CHECK-LABEL: func.func @fold_reductions_of_empty_tensors
// CHECK-SAME:    (%{{.+}}: tensor<2x0xf32>)
// CHECK-DAG:     %[[SUM:.+]] = ge.constant dense<0.000000e+00> : tensor<2xf32>
// CHECK-DAG:     %[[MAX:.+]] = ge.constant dense<"0x000080ff"> : tensor<2x1xf32>
// CHECK-NOT:     ge.reduce
// CHECK:         func.return %[[SUM]], %[[MAX]]
func.func @fold_reductions_of_empty_tensors(%x: tensor<2x0xf32>) -> (tensor<2xf32>, tensor<2x1xf32>) {
  %s = ge.reduce_sum %x {axes = array<i64: 1>, keepdims = false} : (tensor<2x0xf32>) -> tensor<2xf32>
  %m = ge.reduce_max %x {axes = array<i64: 1>, keepdims = true} : (tensor<2x0xf32>) -> tensor<2x1xf32>
  func.return %s, %m : tensor<2xf32>, tensor<2x1xf32>
}

// -----

// An op of a non-empty argument stays, though another operand is empty.
// CHECK-LABEL: func.func @no_fold_beside_a_non_empty_argument
// CHECK:         ge.concat
func.func @no_fold_beside_a_non_empty_argument(%x: tensor<0x3xf32>, %y: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %c = ge.concat %x, %y {axis = 0 : i64} : (tensor<0x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %c : tensor<2x3xf32>
}
