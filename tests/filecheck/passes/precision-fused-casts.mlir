// RUN: ge-opt %s --split-input-file -p cast-cube-to-fp16 | filecheck %s
// RUN: ge-opt %s --split-input-file -p cast-cube-to-fp16,fold-constants,fuse-elementwise,cse,dce | filecheck %s --check-prefix=PIPE

// A layer norm between two matmuls takes both casts: it reads the first matmul's f16
// result and writes the second's f16 operand (`cast_to`, computing in f32 between).
// CHECK-LABEL: func.func @layer_norm_between_matmuls
// CHECK: %[[M:.+]] = kernel.matmul {{.*}} -> tensor<4x8xf16>
// CHECK-NOT: ge.cast %[[M]]
// CHECK: %[[N:.+]] = kernel.layer_norm %[[M]], %{{.+}}, %{{.+}} {{.*}}cast_to = f16{{.*}} : (tensor<4x8xf16>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf16>
// CHECK-NOT: ge.cast %[[N]]
// CHECK: kernel.matmul %[[N]]
// PIPE-LABEL: func.func @layer_norm_between_matmuls
// PIPE: %[[M:.+]] = kernel.matmul
// PIPE-NOT: kernel.elementwise
// PIPE: kernel.layer_norm %[[M]], {{.*}}cast_to = f16
// PIPE-NOT: kernel.elementwise
// PIPE: kernel.matmul
// PIPE: kernel.elementwise
func.func @layer_norm_between_matmuls(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %s: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %m = kernel.matmul %x, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %n = kernel.layer_norm %m, %s, %b {axis = 1 : i64, epsilon = 1.0e-05 : f64, fused_from = ["ge.layer_norm"]} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %r = kernel.matmul %n, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

// ResNet's head: the widening cast joins the global pool, the narrowing one rises above the
// reshape (a move, exact in f16) and joins it too: the pool reads and writes f16.
// CHECK-LABEL: func.func @global_pool_head
// CHECK: %[[P:.+]] = kernel.pool %{{.+}} {{.*}}cast_to = f16{{.*}} : (tensor<1x16x7x7xf16>) -> tensor<1x16x1x1xf16>
// CHECK-NEXT: %[[R:.+]] = kernel.reshape %[[P]] {{.*}} -> tensor<1x16xf16>
// CHECK: kernel.matmul %[[R]]
func.func @global_pool_head(%x: tensor<1x3x9x9xf32>, %w: tensor<16x3x3x3xf32>, %f: tensor<16x4xf32>) -> tensor<1x4xf32> {
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x3x9x9xf32>, tensor<16x3x3x3xf32> -> tensor<1x16x7x7xf32>
  %p = kernel.pool %c {kind = "global_avg", fused_from = ["ge.global_avg_pool"]} : (tensor<1x16x7x7xf32>) -> tensor<1x16x1x1xf32>
  %r = kernel.reshape %p {fused_from = ["ge.reshape"], shape = array<i64: 1, 16>} : (tensor<1x16x1x1xf32>) -> tensor<1x16xf32>
  %y = kernel.matmul %r, %f {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<1x16xf32>, tensor<16x4xf32>) -> tensor<1x4xf32>
  func.return %y : tensor<1x4xf32>
}

// -----

// A softmax whose result another op also reads in f32 keeps its f32 result: the narrowing
// cast stays (rounding the other reader's value would change the program); its input cast
// still folds in.
// CHECK-LABEL: func.func @no_fold_shared_result
// CHECK: %[[S:.+]] = kernel.softmax %{{.+}} {{.*}}cast_to = f32{{.*}} : (tensor<4x8xf16>) -> tensor<4x8xf32>
// CHECK: ge.cast %[[S]] {to = f16}
// CHECK: func.return %{{.+}}, %[[S]]
func.func @no_fold_shared_result(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %m = kernel.matmul %x, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %s = kernel.softmax %m {axis = -1 : i64, scale = 1.0 : f64, fused_from = ["ge.softmax"]} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = kernel.matmul %s, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  func.return %r, %s : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A max pool runs on the f16 data itself (the cast sinks below it): no cast_to.
// CHECK-LABEL: func.func @max_pool_sinks
// CHECK: kernel.pool %{{.+}} {kind = "max"
// CHECK-NOT: cast_to
// CHECK-SAME: (tensor<1x2x4x4xf16>) -> tensor<1x2x2x2xf16>
func.func @max_pool_sinks(%x: tensor<1x3x6x6xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x3x6x6xf32>, tensor<2x3x3x3xf32> -> tensor<1x2x4x4xf32>
  %p = kernel.pool %y {kind = "max", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, fused_from = ["ge.max_pool2d"]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  func.return %p : tensor<1x2x2x2xf32>
}
