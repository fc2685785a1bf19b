// RUN: not ge-opt %s --split-input-file 2>&1 | filecheck %s

func.func @bad_add(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
  %0 = ge.add %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}
// CHECK: invalid.mlir:4:3: error: 'ge.add': result type tensor<2x4xf32> does not match the inferred tensor<2x3xf32>

// -----

func.func @bad_conv(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %0 : tensor<1x4x6x6xf32>
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.conv2d': weight has 2 input channels per group, input gives 3 / 1 = 3

// -----

func.func @syntax(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ge.relu %x : tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:{{[0-9]+}}: error:
