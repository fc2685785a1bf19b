// RUN: ge-opt %s --split-input-file -p copy-concat-operands | filecheck %s

// A concat of contiguous pieces (batch one, along channels): the kernel can write its piece
// in place, the argument cannot (its bytes are the caller's), so the argument gets a copy
// kernel of its own and the concat moves nothing.
// CHECK-LABEL: func.func @one_unplaced
// CHECK:      %[[R:.+]] = kernel.transpose
// CHECK-NEXT: %[[C:.+]] = kernel.elementwise %[[X:[^ ]+]] {fused_from = ["ge.concat"]} : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
// CHECK-NEXT: ^{{.+}}(%[[E:.+]]: tensor<f32>):
// CHECK-NEXT:   kernel.yield %[[E]] : tensor<f32>
// CHECK-NEXT: }
// CHECK-NEXT: kernel.concat %[[C]], %[[R]] {{.+}}axis = 1 : i64
func.func @one_unplaced(%x: tensor<1x2x4xf32>) -> tensor<1x4x4xf32> {
  %r = kernel.transpose %x {fused_from = ["ge.transpose"], perm = array<i64: 0, 1, 2>} : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %c = kernel.concat %x, %r {fused_from = ["ge.concat"], axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x4x4xf32>
  func.return %c : tensor<1x4x4xf32>
}

// -----

// Left alone: no operand its producer could place (a copy of each would gain nothing),
// and pieces that are not contiguous (a batch of two).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: kernel.elementwise
// CHECK: func.return
func.func @left_alone(%x: tensor<1x2x4xf32>, %y: tensor<2x2x4xf32>) -> (tensor<1x4x4xf32>, tensor<2x4x4xf32>) {
  %c = kernel.concat %x, %x {fused_from = ["ge.concat"], axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x4x4xf32>
  %r = kernel.transpose %y {fused_from = ["ge.transpose"], perm = array<i64: 0, 1, 2>} : (tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %d = kernel.concat %y, %r {fused_from = ["ge.concat"], axis = 1 : i64} : (tensor<2x2x4xf32>, tensor<2x2x4xf32>) -> tensor<2x4x4xf32>
  func.return %c, %d : tensor<1x4x4xf32>, tensor<2x4x4xf32>
}

// -----

// A UNet's skip connection: %a is read by the next stage too, which reads it in the
// concat's result, so both pieces are placed and nothing is copied.
// CHECK-LABEL: func.func @skip_read_again
// CHECK-NOT: kernel.elementwise
// CHECK: kernel.concat %[[A:.+]], %[[U:.+]] {{.+}}axis = 1 : i64
func.func @skip_read_again(%x: tensor<1x2x4xf32>) -> tensor<1x4x4xf32> {
  %a = kernel.transpose %x {fused_from = ["ge.transpose"], perm = array<i64: 0, 1, 2>} : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %b = kernel.transpose %a {fused_from = ["ge.transpose"], perm = array<i64: 0, 1, 2>} : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %u = kernel.transpose %b {fused_from = ["ge.transpose"], perm = array<i64: 0, 1, 2>} : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %c = kernel.concat %a, %u {fused_from = ["ge.concat"], axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x4x4xf32>
  func.return %c : tensor<1x4x4xf32>
}

// -----

// A piece the function also returns needs bytes of its own: it is copied, the other placed.
// CHECK-LABEL: func.func @piece_returned
// CHECK:      %[[A:.+]] = kernel.transpose %x
// CHECK:      %[[C:.+]] = kernel.elementwise %[[A]] {fused_from = ["ge.concat"]}
// CHECK:      kernel.concat %[[C]], %{{.+}} {{.+}}axis = 1 : i64
func.func @piece_returned(%x: tensor<1x2x4xf32>) -> (tensor<1x4x4xf32>, tensor<1x2x4xf32>) {
  %a = kernel.transpose %x {fused_from = ["ge.transpose"], perm = array<i64: 0, 1, 2>} : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %u = kernel.transpose %a {fused_from = ["ge.transpose"], perm = array<i64: 0, 1, 2>} : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %c = kernel.concat %a, %u {fused_from = ["ge.concat"], axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x4x4xf32>
  func.return %c, %a : tensor<1x4x4xf32>, tensor<1x2x4xf32>
}
