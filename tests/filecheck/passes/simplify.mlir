// RUN: ge-opt %s --split-input-file -p simplify | filecheck %s

// CHECK-LABEL: func.func @binary_identities
// CHECK-SAME:    (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NOT:     ge.add
// CHECK-NOT:     ge.sub
// CHECK-NOT:     ge.mul
// CHECK-NOT:     ge.div
// CHECK-NOT:     ge.pow
// CHECK:         func.return %[[X]]
func.func @binary_identities(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %zero = ge.constant dense<0.0> : tensor<3xf32>
  %one = ge.constant dense<1.0> : tensor<1x1xf32>
  %a = ge.add %x, %zero : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %b = ge.add %zero, %a : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = ge.sub %b, %zero : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %d = ge.mul %one, %c : (tensor<1x1xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %e = ge.div %d, %one : (tensor<2x3xf32>, tensor<1x1xf32>) -> tensor<2x3xf32>
  %f = ge.pow %e, %one : (tensor<2x3xf32>, tensor<1x1xf32>) -> tensor<2x3xf32>
  func.return %f : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @integer_mul_one
// CHECK-NEXT:    func.return %x
func.func @integer_mul_one(%x: tensor<4xi32>) -> tensor<4xi32> {
  %one = ge.constant dense<1> : tensor<4xi32>
  %y = ge.mul %x, %one : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  func.return %y : tensor<4xi32>
}

// -----

// Adding zeros of a larger shape broadcasts x: not a no-op.
// CHECK-LABEL: func.func @no_simplify_broadcast_changes_shape
// CHECK:         %[[Y:.+]] = ge.add %x, %{{.+}} : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         func.return %[[Y]]
func.func @no_simplify_broadcast_changes_shape(%x: tensor<3xf32>) -> tensor<2x3xf32> {
  %zero = ge.constant dense<0.0> : tensor<2x3xf32>
  %y = ge.add %x, %zero : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

// -----

// x * 0 is NaN for x = NaN or inf, so it is not replaced by zeros.
// CHECK-LABEL: func.func @no_simplify_float_mul_zero
// CHECK:         ge.mul %x
func.func @no_simplify_float_mul_zero(%x: tensor<4xf32>) -> tensor<4xf32> {
  %zero = ge.constant dense<0.0> : tensor<4xf32>
  %y = ge.mul %x, %zero : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

// 0 - x and 1 / x are not identities; neither is a constant that is not all ones.
// CHECK-LABEL: func.func @no_simplify_left_or_mixed_constant
// CHECK:         ge.sub %[[Z:.+]], %x
// CHECK:         ge.div %[[O:.+]], %{{.+}}
// CHECK:         ge.mul %{{.+}}, %[[M:.+]]
func.func @no_simplify_left_or_mixed_constant(%x: tensor<2xf32>) -> tensor<2xf32> {
  %zero = ge.constant dense<0.0> : tensor<2xf32>
  %one = ge.constant dense<1.0> : tensor<2xf32>
  %mixed = ge.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %a = ge.sub %zero, %x : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %b = ge.div %one, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %c = ge.mul %b, %mixed : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %c : tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @double_transpose_composes
// CHECK-NEXT:    %[[T:.+]] = ge.transpose %x {perm = array<i64: 2, 0, 1>}
// CHECK-NEXT:    func.return %[[T]]
func.func @double_transpose_composes(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %a = ge.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %b = ge.transpose %a {perm = array<i64: 2, 1, 0>} : (tensor<3x2x4xf32>) -> tensor<4x2x3xf32>
  func.return %b : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @double_transpose_cancels
// CHECK-NOT:     ge.transpose
// CHECK:         func.return %x
func.func @double_transpose_cancels(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %a = ge.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
  %b = ge.transpose %a {perm = array<i64: 0, 2, 1>} : (tensor<2x4x3xf32>) -> tensor<2x3x4xf32>
  func.return %b : tensor<2x3x4xf32>
}

// -----

// The inner transpose has a second consumer: it stays for that consumer, while the
// outer one is rewritten to read x directly.
// CHECK-LABEL: func.func @double_transpose_second_consumer
// CHECK:         %[[A:.+]] = ge.transpose %x {perm = array<i64: 1, 0>}
// CHECK-NOT:     ge.transpose
// CHECK:         func.return %x, %[[A]]
func.func @double_transpose_second_consumer(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x2xf32>) {
  %a = ge.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %b = ge.transpose %a {perm = array<i64: 1, 0>} : (tensor<3x2xf32>) -> tensor<2x3xf32>
  func.return %b, %a : tensor<2x3xf32>, tensor<3x2xf32>
}

// -----

// CHECK-LABEL: func.func @reshapes
// CHECK-NEXT:    %[[R:.+]] = ge.reshape %x {shape = array<i64: 4, 6>}
// CHECK-NEXT:    func.return %[[R]], %x
func.func @reshapes(%x: tensor<2x3x4xf32>) -> (tensor<4x6xf32>, tensor<2x3x4xf32>) {
  %a = ge.reshape %x {shape = array<i64: 6, 4>} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %b = ge.reshape %a {shape = array<i64: 4, 6>} : (tensor<6x4xf32>) -> tensor<4x6xf32>
  %c = ge.reshape %x {shape = array<i64: 2, 3, 4>} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  func.return %b, %c : tensor<4x6xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @casts
// CHECK-NEXT:    %[[C:.+]] = ge.cast %x {to = i32} : (tensor<4xf16>) -> tensor<4xi32>
// CHECK-NEXT:    func.return %x, %[[C]]
func.func @casts(%x: tensor<4xf16>) -> (tensor<4xf16>, tensor<4xi32>) {
  %a = ge.cast %x {to = f16} : (tensor<4xf16>) -> tensor<4xf16>
  %b = ge.cast %x {to = f32} : (tensor<4xf16>) -> tensor<4xf32>
  %c = ge.cast %b {to = i32} : (tensor<4xf32>) -> tensor<4xi32>
  func.return %a, %c : tensor<4xf16>, tensor<4xi32>
}

// -----

// f32 -> f16 rounds, so f32 -> f16 -> f32 is not the identity.
// CHECK-LABEL: func.func @no_simplify_lossy_cast_chain
// CHECK:         %[[H:.+]] = ge.cast %x {to = f16}
// CHECK:         ge.cast %[[H]] {to = f32}
func.func @no_simplify_lossy_cast_chain(%x: tensor<4xf32>) -> tensor<4xf32> {
  %h = ge.cast %x {to = f16} : (tensor<4xf32>) -> tensor<4xf16>
  %y = ge.cast %h {to = f32} : (tensor<4xf16>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @no_op_data_movement
// CHECK-NOT:     ge.slice
// CHECK-NOT:     ge.pad
// CHECK-NOT:     ge.expand
// CHECK-NOT:     ge.concat
// CHECK:         func.return %x
func.func @no_op_data_movement(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = ge.slice %x {starts = array<i64: 0, -3>, ends = array<i64: 9223372036854775807, 3>, axes = array<i64: 0, 1>, steps = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %b = ge.pad %a {pads = array<i64: 0, 0, 0, 0>, mode = "reflect", value = 0.0 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = ge.expand %b {shape = array<i64: 1, 3>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %d = ge.concat %c {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %d : tensor<2x3xf32>
}

// -----

// A reversing slice keeps every element but not their order; a slice that drops one
// row, a pad that adds one and an expand that broadcasts all change the data.
// CHECK-LABEL: func.func @no_simplify_data_movement
// CHECK:         ge.slice %x
// CHECK:         ge.slice
// CHECK:         ge.pad
// CHECK:         ge.expand
func.func @no_simplify_data_movement(%x: tensor<2x3xf32>) -> tensor<2x2x3xf32> {
  %a = ge.slice %x {starts = array<i64: -1>, ends = array<i64: -9223372036854775807>, axes = array<i64: 1>, steps = array<i64: -1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %b = ge.slice %a {starts = array<i64: 1>, ends = array<i64: 2>, axes = array<i64: 0>, steps = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<1x3xf32>
  %c = ge.pad %b {pads = array<i64: 0, 0, 1, 0>, mode = "constant", value = 0.0 : f64} : (tensor<1x3xf32>) -> tensor<2x3xf32>
  %d = ge.expand %c {shape = array<i64: 2, 1, 1>} : (tensor<2x3xf32>) -> tensor<2x2x3xf32>
  func.return %d : tensor<2x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @inference_dropout_removed
// CHECK-NOT:     ge.dropout
// CHECK:         func.return %x
func.func @inference_dropout_removed(%x: tensor<8xf32>) -> tensor<8xf32> {
  %a = ge.dropout %x {ratio = 0.1 : f64, is_training = false, seed = 0 : i64} : (tensor<8xf32>) -> tensor<8xf32>
  %b = ge.dropout %a {ratio = 0.0 : f64, is_training = true, seed = 0 : i64} : (tensor<8xf32>) -> tensor<8xf32>
  func.return %b : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @no_simplify_training_dropout
// CHECK:         ge.dropout %x {{.*}}is_training = true
func.func @no_simplify_training_dropout(%x: tensor<8xf32>) -> tensor<8xf32> {
  %a = ge.dropout %x {ratio = 0.1 : f64, is_training = true, seed = 7 : i64} : (tensor<8xf32>) -> tensor<8xf32>
  func.return %a : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @double_neg
// CHECK-NEXT:    func.return %x
func.func @double_neg(%x: tensor<8xi64>) -> tensor<8xi64> {
  %a = ge.neg %x : (tensor<8xi64>) -> tensor<8xi64>
  %b = ge.neg %a : (tensor<8xi64>) -> tensor<8xi64>
  func.return %b : tensor<8xi64>
}

// -----

// CHECK-LABEL: func.func @softmax_of_rows
// CHECK-NEXT:    %[[S:.+]] = ge.softmax %x {axis = -1 : i64}
// CHECK-NEXT:    %[[L:.+]] = ge.log_softmax %x {axis = -1 : i64}
// CHECK-NEXT:    func.return %[[S]], %[[L]]
func.func @softmax_of_rows(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %a = ge.reshape %x {shape = array<i64: 6, 4>} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %b = ge.softmax %a {axis = 1 : i64} : (tensor<6x4xf32>) -> tensor<6x4xf32>
  %c = ge.reshape %b {shape = array<i64: 2, 3, 4>} : (tensor<6x4xf32>) -> tensor<2x3x4xf32>
  %d = ge.log_softmax %a {axis = -1 : i64} : (tensor<6x4xf32>) -> tensor<6x4xf32>
  %e = ge.reshape %d {shape = array<i64: 2, 3, 4>} : (tensor<6x4xf32>) -> tensor<2x3x4xf32>
  func.return %c, %e : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @no_simplify_softmax_of_flattened_axes
// CHECK:         ge.reshape
// CHECK-NEXT:    ge.softmax
// CHECK-NEXT:    ge.reshape
func.func @no_simplify_softmax_of_flattened_axes(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %a = ge.reshape %x {shape = array<i64: 2, 12>} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  %b = ge.softmax %a {axis = 1 : i64} : (tensor<2x12xf32>) -> tensor<2x12xf32>
  %c = ge.reshape %b {shape = array<i64: 2, 3, 4>} : (tensor<2x12xf32>) -> tensor<2x3x4xf32>
  func.return %c : tensor<2x3x4xf32>
}

// -----

// Empty pieces of a concat add nothing (a decoder's first step: an empty past key/value
// cache before the new one); one piece left is the result itself.
// CHECK-LABEL: func.func @concat_empty_pieces
// CHECK-SAME:    (%[[PAST:.+]]: tensor<1x2x0x4xf32>, %[[NEW:.+]]: tensor<1x2x3x4xf32>)
// CHECK-NOT:     ge.concat
// CHECK:         func.return %[[NEW]]
func.func @concat_empty_pieces(%past: tensor<1x2x0x4xf32>, %new: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %kv = ge.concat %past, %new {axis = 2 : i64} : (tensor<1x2x0x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  func.return %kv : tensor<1x2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @concat_drops_only_the_empty_pieces
// CHECK-SAME:    (%[[A:[^:]+]]: tensor<2x3xf32>, %[[E:[^:]+]]: tensor<0x3xf32>, %[[B:[^:]+]]: tensor<1x3xf32>)
// CHECK-NEXT:    %[[C:.+]] = ge.concat %[[A]], %[[B]] {axis = 0 : i64} : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<3x3xf32>
// CHECK-NEXT:    func.return %[[C]]
func.func @concat_drops_only_the_empty_pieces(%a: tensor<2x3xf32>, %e: tensor<0x3xf32>, %b: tensor<1x3xf32>) -> tensor<3x3xf32> {
  %c = ge.concat %a, %e, %b, %e {axis = 0 : i64} : (tensor<2x3xf32>, tensor<0x3xf32>, tensor<1x3xf32>, tensor<0x3xf32>) -> tensor<3x3xf32>
  func.return %c : tensor<3x3xf32>
}

// -----

// All pieces empty: the result is empty too, and the concat stays.
// CHECK-LABEL: func.func @concat_of_empty_pieces_stays
// CHECK:         ge.concat
func.func @concat_of_empty_pieces_stays(%a: tensor<0x3xf32>, %b: tensor<0x3xf32>) -> tensor<0x3xf32> {
  %c = ge.concat %a, %b {axis = 0 : i64} : (tensor<0x3xf32>, tensor<0x3xf32>) -> tensor<0x3xf32>
  func.return %c : tensor<0x3xf32>
}

// -----

// A split's empty pieces are known without running anything: RotaryEmbedding rotating
// every channel splits off an empty pass-through part.
// CHECK-LABEL: func.func @split_empty_pieces
// CHECK-SAME:    (%[[X:.+]]: tensor<2x4xf32>)
// CHECK-DAG:     %[[E:.+]] = ge.constant dense<> : tensor<2x0xf32>
// CHECK-DAG:     %[[A:[^,]+]], %[[B:[^ ]+]] = ge.split %[[X]] {axis = 1 : i64, sizes = array<i64: 3, 1>} : (tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x1xf32>)
// CHECK:         func.return %[[A]], %[[E]], %[[B]]
func.func @split_empty_pieces(%x: tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x0xf32>, tensor<2x1xf32>) {
  %a, %e, %b = ge.split %x {axis = 1 : i64, sizes = array<i64: 3, 0, 1>} : (tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x0xf32>, tensor<2x1xf32>)
  func.return %a, %e, %b : tensor<2x3xf32>, tensor<2x0xf32>, tensor<2x1xf32>
}

// -----

// One piece left is the input itself.
// CHECK-LABEL: func.func @split_one_piece_left
// CHECK-SAME:    (%[[X:.+]]: tensor<2x4xf32>)
// CHECK-NOT:     ge.split
// CHECK:         func.return %[[X]], %{{.+}}
func.func @split_one_piece_left(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x0xf32>) {
  %a, %e = ge.split %x {axis = 1 : i64, sizes = array<i64: 4, 0>} : (tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x0xf32>)
  func.return %a, %e : tensor<2x4xf32>, tensor<2x0xf32>
}

// -----

// torch's nn.MultiheadAttention export picks q, k, v out of the packed projection by
// gathers of one constant index: a slice of leading rows (a view), then a reshape.
// CHECK-LABEL: func.func @gather_of_one_index
// CHECK-NOT:     ge.gather
// CHECK:         %[[Q:.+]] = ge.slice %x {starts = array<i64: 0>, ends = array<i64: 1>, axes = array<i64: 0>, steps = array<i64: 1>}
// CHECK-NEXT:    ge.reshape %[[Q]] {shape = array<i64: 4, 2, 8>} : (tensor<1x4x2x8xf32>) -> tensor<4x2x8xf32>
// CHECK:         %[[V:.+]] = ge.slice %x {starts = array<i64: 2>, ends = array<i64: 3>, axes = array<i64: 0>, steps = array<i64: 1>}
// CHECK-NOT:     ge.reshape %[[V]]
// CHECK:         ge.slice %x {starts = array<i64: 1>, ends = array<i64: 2>, axes = array<i64: 2>, steps = array<i64: 1>}
// CHECK:         ge.gather %x, %{{.+}} {axis = 0 : i64} : (tensor<3x4x2x8xf32>, tensor<2xi64>)
func.func @gather_of_one_index(%x: tensor<3x4x2x8xf32>) -> (tensor<4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<3x4x8xf32>, tensor<2x4x2x8xf32>) {
  %i0 = ge.constant dense<0> : tensor<i64>
  %i2 = ge.constant dense<-1> : tensor<1xi64>
  %i1 = ge.constant dense<1> : tensor<i64>
  %two = ge.constant dense<[0, 2]> : tensor<2xi64>
  %q = ge.gather %x, %i0 {axis = 0 : i64} : (tensor<3x4x2x8xf32>, tensor<i64>) -> tensor<4x2x8xf32>
  %v = ge.gather %x, %i2 {axis = 0 : i64} : (tensor<3x4x2x8xf32>, tensor<1xi64>) -> tensor<1x4x2x8xf32>
  %h = ge.gather %x, %i1 {axis = 2 : i64} : (tensor<3x4x2x8xf32>, tensor<i64>) -> tensor<3x4x8xf32>
  %g = ge.gather %x, %two {axis = 0 : i64} : (tensor<3x4x2x8xf32>, tensor<2xi64>) -> tensor<2x4x2x8xf32>
  func.return %q, %v, %h, %g : tensor<4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<3x4x8xf32>, tensor<2x4x2x8xf32>
}

// -----

// A transpose that moves only axes of length one is a reshape: (1, L, E) <-> (L, 1, E) as
// torch's nn.MultiheadAttention exports around every attention. One that reorders two
// longer axes stays.
// CHECK-LABEL: func.func @unit_axes_transpose
// CHECK-NEXT:    %[[A:.+]] = ge.reshape %x {shape = array<i64: 5, 1, 8>} : (tensor<1x5x8xf32>) -> tensor<5x1x8xf32>
// CHECK-NEXT:    %[[B:.+]] = ge.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<1x5x8xf32>) -> tensor<1x8x5xf32>
// CHECK-NEXT:    func.return %[[A]], %[[B]]
func.func @unit_axes_transpose(%x: tensor<1x5x8xf32>) -> (tensor<5x1x8xf32>, tensor<1x8x5xf32>) {
  %a = ge.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<1x5x8xf32>) -> tensor<5x1x8xf32>
  %b = ge.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<1x5x8xf32>) -> tensor<1x8x5xf32>
  func.return %a, %b : tensor<5x1x8xf32>, tensor<1x8x5xf32>
}
