// RUN: ge-opt %s --split-input-file --verify-diagnostics -p inline-calls | filecheck %s
// RUN: ge-opt %s --split-input-file --verify-diagnostics -p ge-optimize | filecheck %s --check-prefix=OPTIMIZED

// A private helper is inlined at each call and removed; a public one stays (it may be an
// entry of its own). Calls inside inlined bodies are inlined too.

// CHECK-NOT:   func.func private @scale
// CHECK-LABEL: func.func @twice
// CHECK-SAME:    (%[[X:.+]]: tensor<4xf32>, %[[Y:.+]]: tensor<4xf32>)
// CHECK-NEXT:    %[[A:.+]] = ge.mul %[[X]], %[[X]]
// CHECK-NEXT:    %[[R:.+]] = ge.relu %[[A]]
// CHECK-NEXT:    %[[B:.+]] = ge.mul %[[Y]], %[[Y]]
// CHECK-NEXT:    %[[S:.+]] = ge.relu %[[B]]
// CHECK-NEXT:    %[[SUM:.+]] = ge.add %[[R]], %[[S]]
// CHECK-NEXT:    func.return %[[SUM]], %[[X]]
// CHECK-NOT:   func.call
// CHECK-LABEL: func.func @activate
// CHECK:         ge.relu
// OPTIMIZED-LABEL: func.func @twice
// OPTIMIZED-NOT:   func.call
// OPTIMIZED:       kernel.
func.func private @scale(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = ge.mul %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = func.call @activate(%0) : (tensor<4xf32>) -> tensor<4xf32>
  func.return %1 : tensor<4xf32>
}
func.func @twice(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %a = func.call @scale(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %b = func.call @scale(%y) : (tensor<4xf32>) -> tensor<4xf32>
  %c = ge.add %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %c, %x : tensor<4xf32>, tensor<4xf32>
}
func.func @activate(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = ge.relu %x : (tensor<4xf32>) -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}

// -----

// Recursion cannot be inlined: the error names the cycle.
// CHECK: error: recursive calls cannot be inlined: @ping -> @pong -> @ping
func.func @ping(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = func.call @pong(%x) : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
func.func @pong(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = func.call @ping(%x) : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// A declaration has no body to inline.
// CHECK: error: func.call @external: the function has no body
func.func private @external(tensor<2xf32>) -> tensor<2xf32>
func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = func.call @external(%x) : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
