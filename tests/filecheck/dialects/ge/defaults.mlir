// RUN: ge-opt %s | filecheck %s
// RUN: ge-opt %s --print-op-generic | ge-opt | filecheck %s

// Properties with a default (ONNX's attribute defaults, `DEFAULTS` of each op) may be left
// out of text IR, in the custom and the generic form, as MLIR's default-valued attributes:
// the parsed op has them filled in, verifies, and prints them.

func.func @defaults(%x: tensor<2x3xf32>, %w: tensor<4x3x3x3xf32>, %i: tensor<1x3x8x8xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<1x4x6x6xf32>) {
  %g = ge.gelu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %l = "ge.leaky_relu"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = ge.conv2d %i, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %g, %l, %c : tensor<2x3xf32>, tensor<2x3xf32>, tensor<1x4x6x6xf32>
}
// CHECK-LABEL: func.func @defaults(
// CHECK:         ge.gelu %{{.*}} {approximate = "none"}
// CHECK:         ge.leaky_relu %{{.*}} {alpha = 1.000000e-02 : f64}
// CHECK:         ge.conv2d %{{.*}}, %{{.*}} {{{.*}}strides = array<i64: 1, 1>

// ge.scatter's axis and reduction default to ONNX's (0, "none").
func.func @scatter_defaults(%x: tensor<5x4xf32>, %i: tensor<3xi64>, %u: tensor<3x4xf32>) -> tensor<5x4xf32> {
  %0 = ge.scatter %x, %i, %u : (tensor<5x4xf32>, tensor<3xi64>, tensor<3x4xf32>) -> tensor<5x4xf32>
  func.return %0 : tensor<5x4xf32>
}
// CHECK-LABEL: func.func @scatter_defaults(
// CHECK:         ge.scatter %{{.*}}, %{{.*}}, %{{.*}} {axis = 0 : i64, reduction = "none"}
