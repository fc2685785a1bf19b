// RUN: ge-opt %s --split-input-file --verify-diagnostics | filecheck %s
// RUN: sed -e 's/{{does not match}}/{{no such message}}/' -e 's/@+1 {{has a dynamic/@+2 {{has a dynamic/' %s \
// RUN:   | not ge-opt - --split-input-file --verify-diagnostics 2>&1 >/dev/null | filecheck %s --check-prefix=MISMATCH

// MLIR's `expected-error` annotations: every error ge-opt reports must match one (its line
// and a piece of its message) and every annotation an error; matched chunks print nothing.

// CHECK: func.func @fine
func.func @fine(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ge.relu %x : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// CHECK-NOT: @wrong_result
func.func @wrong_result(%x: tensor<2xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{does not match}}
  %0 = ge.relu %x : (tensor<2xf32>) -> tensor<3xf32>
  func.return %0 : tensor<3xf32>
}

// -----

// A `?` dimension is refused where it is written: buffers and tiles are planned from static
// shapes (dynamic batch sizes are served by shape gears).
// expected-error @+1 {{has a dynamic shape}}
func.func @dynamic(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %0 = ge.relu %x : (tensor<?x3xf32>) -> tensor<?x3xf32>
  func.return %0 : tensor<?x3xf32>
}

// -----

// CHECK: func.func @also_fine
func.func @also_fine(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return %x : tensor<2xf32>
}

// MISMATCH: stdin:19:3: error: 'ge.relu': result type tensor<3xf32> does not match the inferred tensor<2xf32> (no expected-error annotation matches it)
// MISMATCH: stdin:18: error: expected error 'no such message' on line 19 was not produced
// MISMATCH: stdin:28:1: error: 'func.func': tensor<?x3xf32> has a dynamic shape{{.*}}(no expected-error annotation matches it)
// MISMATCH: stdin:27: error: expected error 'has a dynamic shape' on line 29 was not produced
