// RUN: not ge-opt %s --split-input-file 2>&1 | filecheck %s
// RUN: not ge-opt %s --split-input-file 2>&1 >/dev/null | wc -l | filecheck %s --check-prefix=LINES

// Malformed input: each error is one located line (no traceback) and ge-opt exits 1.
// LINES: {{^ *6$}}

func.func @unknown_op(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ge.frobnicate %x : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
// CHECK: errors.mlir:[[# @LINE - 3]]:{{[0-9]+}}: error: Operation ge.frobnicate is not registered

// -----

func.func @syntax_error(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ge.relu %x : (tensor<2xf32>) ->
}
// CHECK: errors.mlir:[[# @LINE - 1]]:1: error: type expected

// -----

func.func @undefined_value(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ge.relu %y : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
// CHECK: errors.mlir:{{[0-9]+}}:{{[0-9]+}}: error: values used but not defined: [%y]

// -----

func.func @verifier_error(%x: tensor<2xf32>) -> tensor<3xf32> {
  %0 = ge.relu %x : (tensor<2xf32>) -> tensor<3xf32>
  func.return %0 : tensor<3xf32>
}
// CHECK: errors.mlir:[[# @LINE - 3]]:3: error: 'ge.relu': result type tensor<3xf32> does not match the inferred tensor<2xf32>

// -----

// xDSL's parser raises a plain NotImplementedError on a dense array of i100.
func.func @parser_crash(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ge.transpose %x {perm = array<i100: 0>} : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
// CHECK: errors.mlir:[[# @LINE - 3]]:{{[0-9]+}}: error: Format not implemented for i100

// -----

// A property of the wrong kind fails while the op is built: located at the op too.
func.func @property_kind(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = ge.transpose %x {perm = 3 : i64} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  func.return %0 : tensor<3x2xf32>
}
// CHECK: errors.mlir:[[# @LINE - 3]]:3: error: 3 : i64 should be of base attribute array
// CHECK-NOT: Traceback
