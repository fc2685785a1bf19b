// RUN: ge-opt %s --split-input-file -p sink-conv1d-reshapes | filecheck %s

// WaveNet's gate on two Conv1d's, scaled per channel: the tanh, the sigmoid and the products
// run on the convs' 4-D results (so they can fuse into them), the per-channel scale seen with
// its unit height, and one reshape back to 3-D at the end.
// CHECK-LABEL: func.func @gate
// CHECK: %[[T:.+]] = ge.tanh %a : (tensor<2x8x1x50xf32>) -> tensor<2x8x1x50xf32>
// CHECK-NEXT: %[[G:.+]] = ge.sigmoid %b : (tensor<2x8x1x50xf32>) -> tensor<2x8x1x50xf32>
// CHECK-NEXT: %[[M:.+]] = ge.mul %[[T]], %[[G]] : (tensor<2x8x1x50xf32>, tensor<2x8x1x50xf32>) -> tensor<2x8x1x50xf32>
// CHECK-NEXT: %[[S:.+]] = ge.reshape %s {shape = array<i64: 8, 1, 1>}
// CHECK-NEXT: %[[Y:.+]] = ge.mul %[[M]], %[[S]] : (tensor<2x8x1x50xf32>, tensor<8x1x1xf32>) -> tensor<2x8x1x50xf32>
// CHECK-NEXT: %[[R:.+]] = ge.reshape %[[Y]] {shape = array<i64: 2, 8, 50>}
// CHECK-NEXT: func.return %[[R]]
func.func @gate(%x: tensor<2x8x50xf32>, %wa: tensor<8x8x1x3xf32>, %wb: tensor<8x8x1x3xf32>, %s: tensor<8x1xf32>) -> tensor<2x8x50xf32> {
  %x4 = ge.reshape %x {shape = array<i64: 2, 8, 1, 50>} : (tensor<2x8x50xf32>) -> tensor<2x8x1x50xf32>
  %a = ge.conv2d %x4, %wa {strides = array<i64: 1, 1>, pads = array<i64: 0, 1, 0, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x8x1x50xf32>, tensor<8x8x1x3xf32>) -> tensor<2x8x1x50xf32>
  %b = ge.conv2d %x4, %wb {strides = array<i64: 1, 1>, pads = array<i64: 0, 1, 0, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x8x1x50xf32>, tensor<8x8x1x3xf32>) -> tensor<2x8x1x50xf32>
  %a3 = ge.reshape %a {shape = array<i64: 2, 8, 50>} : (tensor<2x8x1x50xf32>) -> tensor<2x8x50xf32>
  %b3 = ge.reshape %b {shape = array<i64: 2, 8, 50>} : (tensor<2x8x1x50xf32>) -> tensor<2x8x50xf32>
  %t = ge.tanh %a3 : (tensor<2x8x50xf32>) -> tensor<2x8x50xf32>
  %g = ge.sigmoid %b3 : (tensor<2x8x50xf32>) -> tensor<2x8x50xf32>
  %m = ge.mul %t, %g : (tensor<2x8x50xf32>, tensor<2x8x50xf32>) -> tensor<2x8x50xf32>
  %y = ge.mul %m, %s : (tensor<2x8x50xf32>, tensor<8x1xf32>) -> tensor<2x8x50xf32>
  func.return %y : tensor<2x8x50xf32>
}

// -----

// A residual of the 3-D shape is seen in 4-D; a bias of rank 1 broadcasts alike in both.
// CHECK-LABEL: func.func @residual
// CHECK: %[[A:.+]] = ge.add %c, %bias : (tensor<1x4x1x9xf32>, tensor<9xf32>) -> tensor<1x4x1x9xf32>
// CHECK-NEXT: %[[X:.+]] = ge.reshape %x {shape = array<i64: 1, 4, 1, 9>}
// CHECK-NEXT: %[[S:.+]] = ge.add %[[A]], %[[X]] : (tensor<1x4x1x9xf32>, tensor<1x4x1x9xf32>) -> tensor<1x4x1x9xf32>
// CHECK-NEXT: %[[E:.+]] = ge.elu %[[S]] {alpha = 5.000000e-01 : f64} : (tensor<1x4x1x9xf32>) -> tensor<1x4x1x9xf32>
// CHECK-NEXT: ge.reshape %[[E]] {shape = array<i64: 1, 4, 9>}
func.func @residual(%x: tensor<1x4x9xf32>, %w: tensor<4x4x1x3xf32>, %bias: tensor<9xf32>) -> tensor<1x4x9xf32> {
  %x4 = ge.reshape %x {shape = array<i64: 1, 4, 1, 9>} : (tensor<1x4x9xf32>) -> tensor<1x4x1x9xf32>
  %c = ge.conv2d %x4, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 1, 0, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x1x9xf32>, tensor<4x4x1x3xf32>) -> tensor<1x4x1x9xf32>
  %c3 = ge.reshape %c {shape = array<i64: 1, 4, 9>} : (tensor<1x4x1x9xf32>) -> tensor<1x4x9xf32>
  %a = ge.add %c3, %bias : (tensor<1x4x9xf32>, tensor<9xf32>) -> tensor<1x4x9xf32>
  %s = ge.add %a, %x : (tensor<1x4x9xf32>, tensor<1x4x9xf32>) -> tensor<1x4x9xf32>
  %e = ge.elu %s {alpha = 0.5 : f64} : (tensor<1x4x9xf32>) -> tensor<1x4x9xf32>
  func.return %e : tensor<1x4x9xf32>
}

// -----

// Reshapes that are not a Conv1d's (a matmul's result), and comparisons, stay as they are.
// CHECK-LABEL: func.func @stay
// CHECK: %[[R:.+]] = ge.reshape %m {shape = array<i64: 2, 3, 4>}
// CHECK-NEXT: ge.relu %[[R]] : (tensor<2x3x4xf32>)
// CHECK: %[[C3:.+]] = ge.reshape %c {shape = array<i64: 1, 4, 9>}
// CHECK-NEXT: ge.greater %[[C3]], %x : (tensor<1x4x9xf32>, tensor<1x4x9xf32>) -> tensor<1x4x9xi1>
func.func @stay(%a: tensor<6x5xf32>, %b: tensor<5x4xf32>, %x: tensor<1x4x9xf32>, %w: tensor<4x4x1x3xf32>) -> (tensor<2x3x4xf32>, tensor<1x4x9xi1>) {
  %m = ge.matmul %a, %b : (tensor<6x5xf32>, tensor<5x4xf32>) -> tensor<6x4xf32>
  %r = ge.reshape %m {shape = array<i64: 2, 3, 4>} : (tensor<6x4xf32>) -> tensor<2x3x4xf32>
  %y = ge.relu %r : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %x4 = ge.reshape %x {shape = array<i64: 1, 4, 1, 9>} : (tensor<1x4x9xf32>) -> tensor<1x4x1x9xf32>
  %c = ge.conv2d %x4, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 1, 0, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x1x9xf32>, tensor<4x4x1x3xf32>) -> tensor<1x4x1x9xf32>
  %c3 = ge.reshape %c {shape = array<i64: 1, 4, 9>} : (tensor<1x4x1x9xf32>) -> tensor<1x4x9xf32>
  %g = ge.greater %c3, %x : (tensor<1x4x9xf32>, tensor<1x4x9xf32>) -> tensor<1x4x9xi1>
  func.return %y, %g : tensor<2x3x4xf32>, tensor<1x4x9xi1>
}
