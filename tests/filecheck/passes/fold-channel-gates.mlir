// RUN: ge-opt %s --split-input-file -p fold-channel-gates | filecheck %s

// Squeeze-excitation before a 1x1 projection: the gate scales the weights (as (O, C) by
// (1, C)), the conv reads y itself.
// CHECK-LABEL: func.func @se_projection
// CHECK-SAME:  (%[[Y:.+]]: tensor<1x8x6x6xf32>, %[[S:.+]]: tensor<1x8x1x1xf32>)
// CHECK:       %[[G:.+]] = ge.sigmoid %[[S]]
// CHECK-NEXT:  %[[W2:.+]] = ge.reshape %[[W:.+]] {shape = array<i64: 4, 8>}
// CHECK-NEXT:  %[[G2:.+]] = ge.reshape %[[G]] {shape = array<i64: 1, 8>}
// CHECK-NEXT:  %[[M:.+]] = ge.mul %[[W2]], %[[G2]] : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT:  %[[WG:.+]] = ge.reshape %[[M]] {shape = array<i64: 4, 8, 1, 1>}
// CHECK-NEXT:  %[[C:.+]] = ge.conv2d %[[Y]], %[[WG]]
// CHECK-NEXT:  func.return %[[C]]
func.func @se_projection(%y: tensor<1x8x6x6xf32>, %s: tensor<1x8x1x1xf32>) -> tensor<1x4x6x6xf32> {
  %w = ge.constant dense<0.5> : tensor<4x8x1x1xf32>
  %g = ge.sigmoid %s : (tensor<1x8x1x1xf32>) -> tensor<1x8x1x1xf32>
  %p = ge.mul %y, %g : (tensor<1x8x6x6xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x6x6xf32>
  %c = ge.conv2d %p, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x6x6xf32>, tensor<4x8x1x1xf32>) -> tensor<1x4x6x6xf32>
  func.return %c : tensor<1x4x6x6xf32>
}

// -----

// A padded 3x3 conv with a bias and a (C, 1, 1) gate first: zero padding times the gate is
// zero, so the fold holds; the weights are scaled as (O, C, 9) by (1, C, 1).
// CHECK-LABEL: func.func @padded_3x3
// CHECK:       ge.mul %{{.+}}, %{{.+}} : (tensor<2x4x9xf32>, tensor<1x4x1xf32>) -> tensor<2x4x9xf32>
// CHECK:       ge.conv2d %y, %{{.+}}, %b
func.func @padded_3x3(%y: tensor<1x4x8x8xf32>, %s: tensor<4x1x1xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  %w = ge.constant dense<0.25> : tensor<2x4x3x3xf32>
  %g = ge.sigmoid %s : (tensor<4x1x1xf32>) -> tensor<4x1x1xf32>
  %p = ge.mul %g, %y : (tensor<4x1x1xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %c = ge.conv2d %p, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<2x4x3x3xf32>, tensor<2xf32>) -> tensor<1x2x8x8xf32>
  func.return %c : tensor<1x2x8x8xf32>
}

// -----

// Left alone: a batch of two (a gate per image, one set of weights), weights larger than
// the activation (an SE at 2x2 before a wide conv), and a product read twice.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-3: ge.conv2d %{{p|q|r}},
func.func @left_alone(%y: tensor<2x4x6x6xf32>, %s: tensor<2x4x1x1xf32>, %z: tensor<1x4x2x2xf32>, %t: tensor<1x4x1x1xf32>) -> (tensor<2x2x6x6xf32>, tensor<1x16x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1x4x2x2xf32>) {
  %w = ge.constant dense<0.5> : tensor<2x4x1x1xf32>
  %g = ge.sigmoid %s : (tensor<2x4x1x1xf32>) -> tensor<2x4x1x1xf32>
  %p = ge.mul %y, %g : (tensor<2x4x6x6xf32>, tensor<2x4x1x1xf32>) -> tensor<2x4x6x6xf32>
  %c = ge.conv2d %p, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x4x6x6xf32>, tensor<2x4x1x1xf32>) -> tensor<2x2x6x6xf32>
  %wide = ge.constant dense<0.5> : tensor<16x4x1x1xf32>
  %h = ge.sigmoid %t : (tensor<1x4x1x1xf32>) -> tensor<1x4x1x1xf32>
  %q = ge.mul %z, %h : (tensor<1x4x2x2xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x2x2xf32>
  %d = ge.conv2d %q, %wide {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x2x2xf32>, tensor<16x4x1x1xf32>) -> tensor<1x16x2x2xf32>
  %r = ge.mul %z, %h : (tensor<1x4x2x2xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x2x2xf32>
  %e = ge.conv2d %r, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x2x2xf32>, tensor<2x4x1x1xf32>) -> tensor<1x2x2x2xf32>
  func.return %c, %d, %e, %r : tensor<2x2x6x6xf32>, tensor<1x16x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1x4x2x2xf32>
}
