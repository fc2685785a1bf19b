// RUN: ge-opt %s --split-input-file -p fuse-conv-residual-add | filecheck %s

// ResNet's second half: conv + residual, then relu after the add (post_activation).
// CHECK-LABEL: func.func @conv_add_relu
// CHECK-SAME: (%[[X:.+]]: tensor<1x2x3x3xf32>, %[[W:.+]]: tensor<2x2x1x1xf32>)
// CHECK-NEXT: %[[Y:.+]] = kernel.conv2d %[[X]], %[[W]] residual %[[X]] : tensor<1x2x3x3xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.add", "ge.relu"], post_activation = "relu"}
// CHECK-NEXT: func.return %[[Y]]
func.func @conv_add_relu(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %a = ge.add %x, %c : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.relu %a : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r : tensor<1x2x3x3xf32>
}

// -----

// An already fused conv kernel (BN + relu inside) still takes the residual after it.
// CHECK-LABEL: func.func @kernel_takes_residual
// CHECK: kernel.conv2d %{{.+}}, %{{.+}} residual %{{.+}} : tensor<1x2x3x3xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.relu", "ge.add"], activation = "relu"}
func.func @kernel_takes_residual(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>, %r: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d", "ge.relu"], activation = "relu"} : tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32> -> tensor<1x2x3x3xf32>
  %a = ge.add %c, %r : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %a : tensor<1x2x3x3xf32>
}

// -----

// The "residual" would broadcast the conv result to a larger shape: not fused.
// CHECK-LABEL: func.func @no_fuse_growing_residual
// CHECK: ge.conv2d
// CHECK-NEXT: ge.add
func.func @no_fuse_growing_residual(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>, %r: tensor<2x2x3x3xf32>) -> tensor<2x2x3x3xf32> {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %a = ge.add %c, %r : (tensor<1x2x3x3xf32>, tensor<2x2x3x3xf32>) -> tensor<2x2x3x3xf32>
  func.return %a : tensor<2x2x3x3xf32>
}

// -----

// The conv result feeds a second consumer: the add stays.
// CHECK-LABEL: func.func @no_fuse_second_consumer
// CHECK: %[[C:.+]] = ge.conv2d
// CHECK-NEXT: ge.add
func.func @no_fuse_second_consumer(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %a = ge.add %c, %x : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %a, %c : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}

// -----

// add(c, c) reads the conv twice: it is not a residual of itself.
// CHECK-LABEL: func.func @no_fuse_self_add
// CHECK: ge.conv2d
// CHECK-NEXT: ge.add
func.func @no_fuse_self_add(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %a = ge.add %c, %c : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %a : tensor<1x2x3x3xf32>
}
