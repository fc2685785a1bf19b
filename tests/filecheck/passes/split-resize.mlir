// RUN: ge-opt %s --split-input-file -p split-resize | filecheck %s

// A trilinear 2x upsampling (3-D U-Nets): H and W first, then D on a (N*C, D, H*W) view.
// CHECK-LABEL: func.func @trilinear
// CHECK:         %[[HW:.+]] = ge.resize %x {mode = "linear"
// CHECK-SAME:      sizes = array<i64: 1, 2, 3, 8, 10>, scales = array<f64: 1.000000e+00, 1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00>}
// CHECK-SAME:      (tensor<1x2x3x4x5xf32>) -> tensor<1x2x3x8x10xf32>
// CHECK-NEXT:    %[[V:.+]] = ge.reshape %[[HW]] {shape = array<i64: 2, 3, 80>}
// CHECK-NEXT:    %[[D:.+]] = ge.resize %[[V]] {mode = "linear"
// CHECK-SAME:      sizes = array<i64: 2, 6, 80>, scales = array<f64: 1.000000e+00, 2.000000e+00, 1.000000e+00>}
// CHECK-NEXT:    %[[Y:.+]] = ge.reshape %[[D]] {shape = array<i64: 1, 2, 6, 8, 10>}
// CHECK-NEXT:    func.return %[[Y]]
func.func @trilinear(%x: tensor<1x2x3x4x5xf32>) -> tensor<1x2x6x8x10xf32> {
  %y = ge.resize %x {sizes = array<i64: 1, 2, 6, 8, 10>, scales = array<f64: 1.0, 1.0, 2.0, 2.0, 2.0>, mode = "linear", coordinate_transformation_mode = "half_pixel", nearest_mode = "round_prefer_floor"} : (tensor<1x2x3x4x5xf32>) -> tensor<1x2x6x8x10xf32>
  func.return %y : tensor<1x2x6x8x10xf32>
}

// -----

// Only a leading axis resized (a temporal upsampling): no resize of the last two axes.
// CHECK-LABEL: func.func @depth_only
// CHECK-NEXT:    ge.reshape %x {shape = array<i64: 1, 4, 36>}
// CHECK-NEXT:    ge.resize %{{.+}} {mode = "nearest", {{.+}} sizes = array<i64: 1, 8, 36>}
// CHECK-NEXT:    ge.reshape %{{.+}} {shape = array<i64: 1, 8, 6, 6>}
// CHECK-NOT:     ge.resize
func.func @depth_only(%x: tensor<1x4x6x6xf32>) -> tensor<1x8x6x6xf32> {
  %y = ge.resize %x {sizes = array<i64: 1, 8, 6, 6>, mode = "nearest", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"} : (tensor<1x4x6x6xf32>) -> tensor<1x8x6x6xf32>
  func.return %y : tensor<1x8x6x6xf32>
}

// -----

// The last two axes alone: unchanged.
// CHECK-LABEL: func.func @bilinear
// CHECK-NEXT:    ge.resize %x
// CHECK-NEXT:    func.return
func.func @bilinear(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x8x8xf32> {
  %y = ge.resize %x {sizes = array<i64: 1, 3, 8, 8>, mode = "linear", coordinate_transformation_mode = "half_pixel", nearest_mode = "round_prefer_floor"} : (tensor<1x3x4x4xf32>) -> tensor<1x3x8x8xf32>
  func.return %y : tensor<1x3x8x8xf32>
}
