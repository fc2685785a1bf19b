// RUN: ge-opt %s | ge-opt | filecheck %s
// RUN: ge-opt %s --print-op-generic | ge-opt | filecheck %s

// CHECK-LABEL: func.func @conv_epilogue
func.func @conv_epilogue(%x: tensor<1x4x6x6xf32>, %w: tensor<4x4x3x3xf32>, %b: tensor<4xf32>, %s: tensor<4xf32>, %t: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  // CHECK: %[[Y:.+]] = kernel.conv2d %x, %w bias %b : tensor<4xf32> scale %s : tensor<4xf32> shift %t : tensor<4xf32> residual %x : tensor<1x4x6x6xf32>
  // CHECK-SAME: fused_from = ["ge.conv2d", "ge.batch_norm", "ge.add", "ge.relu"]
  // CHECK-SAME: post_activation = "relu"
  // CHECK-SAME: algorithm = "winograd"
  %0 = kernel.conv2d %x, %w bias %b : tensor<4xf32> scale %s : tensor<4xf32> shift %t : tensor<4xf32> residual %x : tensor<1x4x6x6xf32> {fused_from = ["ge.conv2d", "ge.batch_norm", "ge.add", "ge.relu"], strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, post_activation = "relu", algorithm = "winograd"} : tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32> -> tensor<1x4x6x6xf32>
  // CHECK: kernel.conv2d %[[Y]], %w {
  // CHECK-SAME: activation = "clip", activation_attrs = {min = 0.000000e+00 : f64, max = 6.000000e+00 : f64}
  %1 = kernel.conv2d %0, %w {fused_from = ["ge.conv2d", "ge.clip"], strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, activation = "clip", activation_attrs = {min = 0.0 : f64, max = 6.0 : f64}} : tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32> -> tensor<1x4x6x6xf32>
  // CHECK: kernel.conv2d %{{.+}}, %w {
  // CHECK-SAME: input_activation = "leaky_relu", input_activation_attrs = {alpha = 2.000000e-01 : f64}
  %2 = kernel.conv2d %1, %w {fused_from = ["ge.conv2d"], strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, input_activation = "leaky_relu", input_activation_attrs = {alpha = 0.2 : f64}} : tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32> -> tensor<1x4x6x6xf32>
  func.return %1 : tensor<1x4x6x6xf32>
}

// CHECK-LABEL: func.func @matmul_attention
func.func @matmul_attention(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %m: tensor<1x8xf32>, %b: tensor<8xf32>) -> tensor<2x8x16xf32> {
  // CHECK: kernel.matmul %q, %k bias %b {
  // CHECK-SAME: transpose_b = true
  // CHECK-SAME: activation = "gelu"
  // CHECK-SAME: (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<8xf32>) -> tensor<2x8x8xf32>
  %s = kernel.matmul %q, %k bias %b {fused_from = ["ge.matmul", "ge.add", "ge.gelu"], transpose_a = false, transpose_b = true, alpha = 0.25 : f64, activation = "gelu", activation_attrs = {approximate = "tanh"}} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<8xf32>) -> tensor<2x8x8xf32>
  // CHECK: kernel.softmax
  // CHECK-SAME: dropout_ratio = 1.000000e-01 : f64
  %p = kernel.softmax %s {fused_from = ["ge.softmax", "ge.dropout"], axis = -1 : i64, scale = 1.0 : f64, dropout_ratio = 0.1 : f64} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  // CHECK: kernel.attention %q, %k, %v mask %m {
  // CHECK-SAME: key_transposed = true
  %a = kernel.attention %q, %k, %v mask %m {fused_from = ["ge.transpose", "ge.matmul", "ge.mul", "ge.add", "ge.softmax", "ge.matmul"], scale = 0.25 : f64, key_transposed = true} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<1x8xf32>) -> tensor<2x8x16xf32>
  func.return %a : tensor<2x8x16xf32>
}

// A transformer's skip connection in the matmul's epilogue, with and without a bias.
// CHECK-LABEL: func.func @matmul_residual
func.func @matmul_residual(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  // CHECK: %[[Y:.+]] = kernel.matmul %x, %w bias %b residual %x {fused_from = ["ge.matmul", "ge.add", "ge.add"]
  // CHECK-SAME: : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %0 = kernel.matmul %x, %w bias %b residual %x {fused_from = ["ge.matmul", "ge.add", "ge.add"]} : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: kernel.matmul %[[Y]], %w residual %[[Y]] {fused_from = ["ge.matmul", "ge.relu", "ge.add"]
  // CHECK-SAME: activation = "relu"
  // CHECK-SAME: : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = kernel.matmul %0, %w residual %0 {fused_from = ["ge.matmul", "ge.relu", "ge.add"], activation = "relu"} : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %1 : tensor<4x8xf32>
}

// A gated linear unit's product and a broadcast layer scale in the matmul's epilogue.
// CHECK-LABEL: func.func @matmul_multiplier
func.func @matmul_multiplier(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %u: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // CHECK: %[[Y:.+]] = kernel.matmul %x, %w multiplier %u {fused_from = ["ge.matmul", "ge.silu", "ge.mul"]
  // CHECK-SAME: activation = "silu"
  // CHECK-SAME: : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %0 = kernel.matmul %x, %w multiplier %u {fused_from = ["ge.matmul", "ge.silu", "ge.mul"], activation = "silu"} : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: kernel.matmul %[[Y]], %w residual %x multiplier %g {fused_from = ["ge.matmul", "ge.mul", "ge.add"]
  // CHECK-SAME: : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = kernel.matmul %0, %w residual %x multiplier %g {fused_from = ["ge.matmul", "ge.mul", "ge.add"]} : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  func.return %1 : tensor<4x8xf32>
}

// Attention reading Q and V, and writing O, in the heads-second (B, S, H, d) layout.
// CHECK-LABEL: func.func @attention_layouts
func.func @attention_layouts(%q: tensor<1x8x2x16xf32>, %k: tensor<1x2x16x8xf32>) -> tensor<1x8x2x16xf32> {
  // CHECK: kernel.attention %q, %k, %q {{{.*}}query_perm = array<i64: 0, 2, 1, 3>, value_perm = array<i64: 0, 2, 1, 3>, output_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>, tensor<1x2x16x8xf32>, tensor<1x8x2x16xf32>) -> tensor<1x8x2x16xf32>
  %0 = kernel.attention %q, %k, %q {fused_from = ["ge.matmul"], scale = 0.25 : f64, key_transposed = false, query_perm = array<i64: 0, 2, 1, 3>, value_perm = array<i64: 0, 2, 1, 3>, output_perm = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x16xf32>, tensor<1x2x16x8xf32>, tensor<1x8x2x16xf32>) -> tensor<1x8x2x16xf32>
  func.return %0 : tensor<1x8x2x16xf32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %c: tensor<3xf32>) -> tensor<4x2x3xf32> {
  // CHECK: kernel.elementwise %a, %c {fused_from = ["ge.add", "ge.mul", "ge.relu", "ge.expand"]} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<4x2x3xf32> {
  // CHECK-NEXT: ^{{.*}}(%[[P:[^:]+]]: tensor<f32>, %[[Q:[^:]+]]: tensor<f32>):
  // CHECK-NEXT: %[[S:.+]] = ge.add %[[P]], %[[Q]] : (tensor<f32>, tensor<f32>) -> tensor<f32>
  // CHECK-NEXT: %[[H:.+]] = ge.constant dense<5.000000e-01> : tensor<f32>
  // CHECK-NEXT: %[[M:.+]] = ge.mul %[[S]], %[[H]]
  // CHECK-NEXT: %[[R:.+]] = ge.relu %[[M]]
  // CHECK-NEXT: kernel.yield %[[R]] : tensor<f32>
  %0 = kernel.elementwise %a, %c {fused_from = ["ge.add", "ge.mul", "ge.relu", "ge.expand"]} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<4x2x3xf32> {
  ^bb0(%p: tensor<f32>, %q: tensor<f32>):
    %s = ge.add %p, %q : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %h = ge.constant dense<0.5> : tensor<f32>
    %m = ge.mul %s, %h : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %r = ge.relu %m : (tensor<f32>) -> tensor<f32>
    kernel.yield %r : tensor<f32>
  }
  func.return %0 : tensor<4x2x3xf32>
}

// CHECK-LABEL: func.func @pool_reduce_data_movement
func.func @pool_reduce_data_movement(%x: tensor<1x4x6x6xf32>, %i: tensor<2xi64>, %g: tensor<4xf32>) -> tensor<1x4x1x1xf32> {
  // CHECK: kernel.pool %x {kind = "max"
  %0 = kernel.pool %x {kind = "max", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = false, fused_from = ["ge.max_pool2d"]} : (tensor<1x4x6x6xf32>) -> tensor<1x4x3x3xf32>
  // CHECK: kernel.pool %{{.+}} {kind = "global_avg"
  %1 = kernel.pool %0 {kind = "global_avg", fused_from = ["ge.global_avg_pool"]} : (tensor<1x4x3x3xf32>) -> tensor<1x4x1x1xf32>
  // CHECK: kernel.reduce %x {kind = "mean", axes = array<i64: 2, 3>
  %2 = kernel.reduce %x {kind = "mean", axes = array<i64: 2, 3>, keepdims = true, fused_from = ["ge.reduce_mean"]} : (tensor<1x4x6x6xf32>) -> tensor<1x4x1x1xf32>
  // CHECK: kernel.transpose
  %3 = kernel.transpose %x {perm = array<i64: 0, 2, 3, 1>, fused_from = ["ge.transpose"]} : (tensor<1x4x6x6xf32>) -> tensor<1x6x6x4xf32>
  // CHECK: kernel.reshape
  %4 = kernel.reshape %3 {shape = array<i64: 36, 4>, fused_from = ["ge.reshape"]} : (tensor<1x6x6x4xf32>) -> tensor<36x4xf32>
  // CHECK: kernel.concat
  %5 = kernel.concat %4, %4 {axis = 0 : i64, fused_from = ["ge.concat"]} : (tensor<36x4xf32>, tensor<36x4xf32>) -> tensor<72x4xf32>
  // CHECK: kernel.slice
  %6 = kernel.slice %5 {starts = array<i64: 0>, ends = array<i64: 8>, axes = array<i64: 0>, steps = array<i64: 1>, fused_from = ["ge.slice"]} : (tensor<72x4xf32>) -> tensor<8x4xf32>
  // CHECK: kernel.pad
  %7 = kernel.pad %6 {pads = array<i64: 1, 0, 1, 0>, mode = "constant", value = 0.0 : f64, fused_from = ["ge.pad"]} : (tensor<8x4xf32>) -> tensor<10x4xf32>
  // CHECK: kernel.gather
  %8 = kernel.gather %7, %i {axis = 0 : i64, fused_from = ["ge.gather"]} : (tensor<10x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  // CHECK: kernel.scatter
  %s = kernel.scatter %7, %i, %8 {axis = 0 : i64, reduction = "max", fused_from = ["ge.scatter"]} : (tensor<10x4xf32>, tensor<2xi64>, tensor<2x4xf32>) -> tensor<10x4xf32>
  // CHECK: kernel.layer_norm
  %9 = kernel.layer_norm %8, %g {axis = -1 : i64, epsilon = 1.0e-05 : f64, fused_from = ["ge.layer_norm"]} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  func.return %2 : tensor<1x4x1x1xf32>
}
