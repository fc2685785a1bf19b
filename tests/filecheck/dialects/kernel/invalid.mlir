// RUN: not ge-opt %s --split-input-file 2>&1 | filecheck %s

func.func @unknown_activation(%x: tensor<1x4x6x6xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = kernel.conv2d %x, %w {fused_from = ["ge.conv2d"], strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, activation = "softmax"} : tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32> -> tensor<1x4x4x4xf32>
  func.return %0 : tensor<1x4x4x4xf32>
}
// CHECK: error: 'kernel.conv2d': activation "softmax" is not one of

// -----

func.func @unknown_input_activation(%x: tensor<1x4x6x6xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = kernel.conv2d %x, %w {fused_from = ["ge.conv2d"], strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, input_activation = "softmax"} : tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32> -> tensor<1x4x4x4xf32>
  func.return %0 : tensor<1x4x4x4xf32>
}
// CHECK: error: 'kernel.conv2d': input_activation "softmax" is not one of

// -----

func.func @residual_type(%x: tensor<1x4x6x6xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = kernel.conv2d %x, %w residual %x : tensor<1x4x6x6xf32> {fused_from = ["ge.conv2d", "ge.add"], strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32> -> tensor<1x4x4x4xf32>
  func.return %0 : tensor<1x4x4x4xf32>
}
// CHECK: error: 'kernel.conv2d': residual tensor<1x4x6x6xf32> must have the result type tensor<1x4x4x4xf32>

// -----

func.func @no_provenance(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = kernel.transpose %a {perm = array<i64: 1, 0>, fused_from = []} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  func.return %0 : tensor<3x2xf32>
}
// CHECK: error: 'kernel.transpose': fused_from must name at least one high-level op

// -----

func.func @body_not_elementwise(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = kernel.elementwise %a {fused_from = ["ge.softmax"]} : (tensor<2x3xf32>) -> tensor<2x3xf32> {
  ^bb0(%p: tensor<f32>):
    %s = ge.softmax %p {axis = 0 : i64} : (tensor<f32>) -> tensor<f32>
    kernel.yield %s : tensor<f32>
  }
  func.return %0 : tensor<2x3xf32>
}
// CHECK: error: 'kernel.elementwise': 'ge.softmax' is not an elementwise op and cannot be in the body

// -----

func.func @shrinking_broadcast(%a: tensor<2x3xf32>) -> tensor<3xf32> {
  %0 = kernel.elementwise %a {fused_from = ["ge.relu"]} : (tensor<2x3xf32>) -> tensor<3xf32> {
  ^bb0(%p: tensor<f32>):
    %s = ge.relu %p : (tensor<f32>) -> tensor<f32>
    kernel.yield %s : tensor<f32>
  }
  func.return %0 : tensor<3xf32>
}
// CHECK: error: 'kernel.elementwise': inputs tensor<2x3xf32> do not broadcast to the result tensor<3xf32>

// -----

// A body without its kernel.yield was an AssertionError in the verifier (mutation soak).
func.func @body_without_yield(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = kernel.elementwise %a {fused_from = ["ge.relu"]} : (tensor<2x3xf32>) -> tensor<2x3xf32> {
  ^bb0(%p: tensor<f32>):
    %s = ge.relu %p : (tensor<f32>) -> tensor<f32>
  }
  func.return %0 : tensor<2x3xf32>
}
// CHECK: error: 'kernel.elementwise': the body must end in one 'kernel.yield' of one value

// -----

func.func @mask_grows_scores(%q: tensor<8x16xf32>, %m: tensor<2x8x8xf32>) -> tensor<8x16xf32> {
  %0 = kernel.attention %q, %q, %q mask %m {fused_from = ["ge.matmul"], scale = 1.0 : f64, key_transposed = true} : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<2x8x8xf32>) -> tensor<8x16xf32>
  func.return %0 : tensor<8x16xf32>
}
// CHECK: error: 'kernel.attention': mask tensor<2x8x8xf32> would change the scores' shape tensor<8x8xf32>

// -----

func.func @matmul_residual_type(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = kernel.matmul %x, %w residual %b {fused_from = ["ge.matmul", "ge.add"]} : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  func.return %0 : tensor<4x8xf32>
}
// CHECK: error: 'kernel.matmul': residual tensor<8xf32> must have the result type tensor<4x8xf32>

// -----

func.func @matmul_multiplier_grows(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %m: tensor<2x4x8xf32>) -> tensor<4x8xf32> {
  %0 = kernel.matmul %x, %w multiplier %m {fused_from = ["ge.matmul", "ge.mul"]} : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<2x4x8xf32>) -> tensor<4x8xf32>
  func.return %0 : tensor<4x8xf32>
}
// CHECK: error: 'kernel.matmul': addend tensor<2x4x8xf32> (bias, residual or multiplier) would change the result's shape

// -----

func.func @matmul_operand_types(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %r: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = kernel.matmul %x, %w residual %r {fused_from = ["ge.matmul", "ge.add"]} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  func.return %0 : tensor<4x8xf32>
}
// CHECK: error: kernel.matmul takes 3 operand types and one result type

// -----

func.func @attention_perm_moves_rows(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32> {
  %0 = kernel.attention %q, %k, %q {fused_from = ["ge.matmul"], scale = 1.0 : f64, key_transposed = false, query_perm = array<i64: 0, 1, 3, 2>, value_perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  func.return %0 : tensor<1x2x8x8xf32>
}
// CHECK: error: 'kernel.attention': query_perm [0, 1, 3, 2] must keep the last axis last

// -----

func.func @attention_perm_not_a_permutation(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x16x8xf32>) -> tensor<1x2x8x16xf32> {
  %0 = kernel.attention %q, %k, %q {fused_from = ["ge.matmul"], scale = 1.0 : f64, key_transposed = false, output_perm = array<i64: 0, 0, 2, 3>} : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  func.return %0 : tensor<1x2x8x16xf32>
}
// CHECK: error: 'kernel.attention': output_perm [0, 0, 2, 3] is not a permutation of the 4 axes

// -----

// A window pool without dilations verified, then the npu lowering failed on it (KeyError).
func.func @window_pool_without_dilations(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %0 = kernel.pool %x {kind = "avg", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, fused_from = ["ge.average_pool"]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  func.return %0 : tensor<1x2x2x2xf32>
}
// CHECK: error: 'kernel.pool': a "avg" pool needs kernel_shape, strides, pads and dilations (no dilations)
