// RUN: ge-opt %s --split-input-file -p recognize-silu,fuse-conv-bn-relu,fuse-conv-bias-activation,fuse-matmul-add-gelu | filecheck %s

// YOLO's Conv-BN-SiLU as torch.onnx.export writes it: the SiLU becomes the conv's epilogue.
// CHECK-LABEL: func.func @conv_bn_silu
// CHECK: %[[Y:.+]] = kernel.conv2d %{{.+}}, %{{.+}} bias %{{.+}} : tensor<2xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.batch_norm", "ge.silu"], activation = "silu"}
// CHECK-NOT: ge.sigmoid
// CHECK-NOT: ge.mul
// CHECK: func.return %[[Y]]
func.func @conv_bn_silu(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = ge.constant dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]]]> : tensor<2x2x1x1xf32>
  %s = ge.constant dense<[4.0, 1.0]> : tensor<2xf32>
  %b = ge.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %m = ge.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %v = ge.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %n = ge.batch_norm %c, %s, %b, %m, %v {epsilon = 1.0 : f64} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %g = ge.sigmoid %n : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %y = ge.mul %n, %g : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}

// -----

// A SiLU's gate also returned: the conv's output has two users, nothing fuses into it.
// CHECK-LABEL: func.func @gate_also_returned
// CHECK-NEXT: %[[C:.+]] = ge.conv2d
// CHECK-NEXT: ge.sigmoid %[[C]]
// CHECK-NEXT: ge.silu %[[C]]
// CHECK-NOT: kernel.conv2d
func.func @gate_also_returned(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %g = ge.sigmoid %c : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %y = ge.mul %g, %c : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %y, %g : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}

// -----

// LLaMA-style MLP's first projection with a bias: matmul + add + SiLU, one kernel.
// CHECK-LABEL: func.func @matmul_bias_silu
// CHECK-NEXT: %[[Y:.+]] = kernel.matmul %{{.+}}, %{{.+}} bias %{{.+}} {{{.*}}fused_from = ["ge.matmul", "ge.add", "ge.silu"], activation = "silu"}
// CHECK-NEXT: func.return %[[Y]]
func.func @matmul_bias_silu(%x: tensor<2x4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<2x4x16xf32> {
  %m = ge.matmul %x, %w : (tensor<2x4x8xf32>, tensor<8x16xf32>) -> tensor<2x4x16xf32>
  %a = ge.add %m, %b : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  %g = ge.sigmoid %a : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %y = ge.mul %a, %g : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  func.return %y : tensor<2x4x16xf32>
}
