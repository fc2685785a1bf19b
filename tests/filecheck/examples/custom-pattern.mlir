// A user's RewritePattern, loaded from its own file, runs from ge-opt -p; the built-in
// fusion then treats its result as any hard_swish (a conv epilogue activation).
// RUN: env GE_PASS_PLUGINS=%S/../../../examples/custom_pattern/hard_swish.py ge-opt %s --split-input-file -p recognize-hard-swish | filecheck %s
// RUN: env GE_PASS_PLUGINS=%S/../../../examples/custom_pattern/hard_swish.py ge-opt %s --split-input-file -p recognize-hard-swish,fuse-conv-bias-activation | filecheck %s --check-prefix=FUSED
// A PDL pattern in text IR, applied with xDSL's apply-pdl.
// RUN: ge-opt %s --split-input-file -p 'apply-pdl{pdl_file="%S/../../../examples/custom_pattern/relu_idempotent.pdl.mlir"}' | filecheck %s --check-prefix=PDL

// CHECK-LABEL: func.func @conv_hard_swish
// CHECK: %[[C:.+]] = ge.conv2d
// CHECK-NEXT: %[[H:.+]] = ge.hard_swish %[[C]]
// CHECK-NEXT: func.return %[[H]]
// FUSED-LABEL: func.func @conv_hard_swish
// FUSED: kernel.conv2d {{.*}}fused_from = ["ge.conv2d", "ge.hard_swish"], activation = "hard_swish"}
// PDL-LABEL: func.func @conv_hard_swish
// PDL: ge.hard_sigmoid
func.func @conv_hard_swish(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %g = ge.hard_sigmoid %c {alpha = 0.16666666666666666 : f64, beta = 0.5 : f64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %y = ge.mul %g, %c : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}

// -----

// Another hard_sigmoid (beta 0.4) is not hard_swish's gate: the user's pattern leaves it.
// CHECK-LABEL: func.func @no_match_other_beta
// CHECK: ge.hard_sigmoid
// CHECK-NEXT: ge.mul
func.func @no_match_other_beta(%x: tensor<4xf32>) -> tensor<4xf32> {
  %g = ge.hard_sigmoid %x {alpha = 0.16666666666666666 : f64, beta = 0.4 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %y = ge.mul %x, %g : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

// PDL-LABEL: func.func @relu_relu
// PDL-NEXT: %[[R:.+]] = ge.relu %{{.+}}
// PDL-NEXT: func.return %[[R]]
func.func @relu_relu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = ge.relu %x : (tensor<4xf32>) -> tensor<4xf32>
  %r2 = ge.relu %r : (tensor<4xf32>) -> tensor<4xf32>
  func.return %r2 : tensor<4xf32>
}
