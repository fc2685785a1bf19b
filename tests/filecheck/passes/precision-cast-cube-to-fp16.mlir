// RUN: ge-opt %s --split-input-file -p cast-cube-to-fp16 | filecheck %s
// RUN: ge-opt %s --split-input-file -p cast-cube-to-fp16,fold-constants,fuse-elementwise,cse,dce | filecheck %s --check-prefix=PIPE

// A matmul kernel takes f16 operands and gives f16; casts around it keep the f32 interface.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>, %[[W:.+]]: tensor<8x4xf32>)
// CHECK-DAG: %[[XH:.+]] = ge.cast %[[X]] {to = f16} : (tensor<4x8xf32>) -> tensor<4x8xf16>
// CHECK-DAG: %[[WH:.+]] = ge.cast %[[W]] {to = f16} : (tensor<8x4xf32>) -> tensor<8x4xf16>
// CHECK: %[[M:.+]] = kernel.matmul %[[XH]], %[[WH]] {{.*}}activation = "relu"} : (tensor<4x8xf16>, tensor<8x4xf16>) -> tensor<4x4xf16>
// CHECK-NEXT: %[[R:.+]] = ge.cast %[[M]] {to = f32} : (tensor<4x4xf16>) -> tensor<4x4xf32>
// CHECK-NEXT: func.return %[[R]]
func.func @matmul(%x: tensor<4x8xf32>, %w: tensor<8x4xf32>) -> tensor<4x4xf32> {
  %m = kernel.matmul %x, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul", "ge.relu"], activation = "relu"} : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  func.return %m : tensor<4x4xf32>
}

// -----

// Two cube kernels in a row: the cast pair f16 -> f32 -> f16 between them folds away, the
// weights become f16 constants, and the entry and exit casts are elementwise kernels.
// CHECK-LABEL: func.func @chain
// CHECK: %[[A:.+]] = kernel.matmul {{.*}} -> tensor<4x4xf16>
// CHECK-NOT: ge.cast %[[A]]
// CHECK: kernel.matmul %[[A]], {{.*}} -> tensor<4x2xf16>
// PIPE-LABEL: func.func @chain
// PIPE: kernel.elementwise %{{.+}} {fused_from = ["ge.cast"]} : (tensor<4x8xf32>) -> tensor<4x8xf16>
// PIPE: ge.constant {{.*}} : tensor<8x4xf16>
// PIPE: %[[A:.+]] = kernel.matmul {{.*}} -> tensor<4x4xf16>
// PIPE: ge.constant {{.*}} : tensor<4x2xf16>
// PIPE: kernel.matmul %[[A]], {{.*}} -> tensor<4x2xf16>
// PIPE-NOT: ge.cast %
// PIPE: kernel.elementwise %{{.+}} {fused_from = ["ge.cast"]} : (tensor<4x2xf16>) -> tensor<4x2xf32>
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x2xf32> {
  %w = ge.constant dense<0.5> : tensor<8x4xf32>
  %a = kernel.matmul %x, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %w2 = ge.constant dense<0.25> : tensor<4x2xf32>
  %b = kernel.matmul %a, %w2 {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  func.return %b : tensor<4x2xf32>
}

// -----

// A cast that follows the cube merges into the elementwise kernel that reads its result:
// the activation crosses HBM as f16, the vector unit computes in f32.
// PIPE-LABEL: func.func @into_elementwise
// PIPE: %[[M:.+]] = kernel.matmul {{.*}} -> tensor<4x4xf16>
// PIPE-NEXT: kernel.elementwise %[[M]] {fused_from = ["ge.cast", "ge.tanh"]} : (tensor<4x4xf16>) -> tensor<4x4xf32>
func.func @into_elementwise(%x: tensor<4x8xf32>, %w: tensor<8x4xf32>) -> tensor<4x4xf32> {
  %m = kernel.matmul %x, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %t = ge.tanh %m : (tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %t : tensor<4x4xf32>
}

// -----

// A conv kernel: input, weight and its epilogue operands (bias) all become f16.
// CHECK-LABEL: func.func @conv
// CHECK: kernel.conv2d %{{.+}}, %{{.+}} bias %{{.+}} : tensor<2xf16> {{.*}} : tensor<1x3x6x6xf16>, tensor<2x3x3x3xf16> -> tensor<1x2x4x4xf16>
func.func @conv(%x: tensor<1x3x6x6xf32>, %w: tensor<2x3x3x3xf32>, %b: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %y = kernel.conv2d %x, %w bias %b : tensor<2xf32> {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x3x6x6xf32>, tensor<2x3x3x3xf32> -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}

// -----

// An f16 model, and a cast pair f32 -> f16 -> f32 (lossy: not the identity), are left alone.
// CHECK-LABEL: func.func @untouched
// CHECK-NEXT: ge.cast
// CHECK-NEXT: ge.cast
// CHECK-NEXT: kernel.matmul {{.*}} : (tensor<4x8xf16>, tensor<8x4xf16>) -> tensor<4x4xf16>
func.func @untouched(%x: tensor<4x8xf32>, %w: tensor<8x4xf16>) -> (tensor<4x8xf32>, tensor<4x4xf16>) {
  %h = ge.cast %x {to = f16} : (tensor<4x8xf32>) -> tensor<4x8xf16>
  %f = ge.cast %h {to = f32} : (tensor<4x8xf16>) -> tensor<4x8xf32>
  %m = kernel.matmul %h, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf16>, tensor<8x4xf16>) -> tensor<4x4xf16>
  func.return %f, %m : tensor<4x8xf32>, tensor<4x4xf16>
}

// -----

// A widening cast sinks below a transpose (moving elements is exact in f16), then meets the
// next cube's narrowing cast and both fold: the transpose moves f16.
// CHECK-LABEL: func.func @sink_through_transpose
// CHECK: %[[M:.+]] = kernel.matmul {{.*}} -> tensor<4x6xf16>
// CHECK-NEXT: %[[T:.+]] = kernel.transpose %[[M]] {{.*}} : (tensor<4x6xf16>) -> tensor<6x4xf16>
// CHECK-NOT: ge.cast %[[T]]
// CHECK: kernel.matmul %[[T]], {{.*}} -> tensor<6x5xf16>
func.func @sink_through_transpose(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %v: tensor<4x5xf32>) -> tensor<6x5xf32> {
  %m = kernel.matmul %x, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %t = kernel.transpose %m {fused_from = ["ge.transpose"], perm = array<i64: 1, 0>} : (tensor<4x6xf32>) -> tensor<6x4xf32>
  %r = kernel.matmul %t, %v {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<6x4xf32>, tensor<4x5xf32>) -> tensor<6x5xf32>
  func.return %r : tensor<6x5xf32>
}

// -----

// An average pool is not exact in f16: the cast does not sink below it; the pool takes it
// (computes in f32 from the f16 conv result, `cast_to = f32`; see precision-fused-casts).
// CHECK-LABEL: func.func @no_sink_through_avg_pool
// CHECK: %[[C:.+]] = kernel.conv2d {{.*}} -> tensor<1x2x4x4xf16>
// CHECK-NOT: ge.cast
// CHECK: kernel.pool %[[C]] {{.*}}cast_to = f32{{.*}} : (tensor<1x2x4x4xf16>) -> tensor<1x2x2x2xf32>
func.func @no_sink_through_avg_pool(%x: tensor<1x3x6x6xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x3x6x6xf32>, tensor<2x3x3x3xf32> -> tensor<1x2x4x4xf32>
  %p = kernel.pool %y {kind = "avg", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, fused_from = ["ge.average_pool"]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  func.return %p : tensor<1x2x2x2xf32>
}

// -----

// An attention mask saturates to f16's range before its cast: -1e30 stays finite (-65504),
// so a fully masked row stays uniform as in f32 instead of turning to NaN.
// CHECK-LABEL: func.func @attention_mask
// CHECK-SAME: %[[MASK:[^:]+]]: tensor<1x4x4xf32>
// CHECK: %[[C:.+]] = ge.clip %[[MASK]] {min = -6.550400e+04 : f64, max = 6.550400e+04 : f64}
// CHECK-NEXT: %[[H:.+]] = ge.cast %[[C]] {to = f16}
// CHECK-NEXT: kernel.attention {{.*}} mask %[[H]] {{.*}} -> tensor<1x4x8xf16>
func.func @attention_mask(%q: tensor<1x4x8xf32>, %k: tensor<1x8x4xf32>, %v: tensor<1x4x8xf32>, %mask: tensor<1x4x4xf32>) -> tensor<1x4x8xf32> {
  %a = kernel.attention %q, %k, %v mask %mask {scale = 0.35 : f64, key_transposed = false, fused_from = ["ge.matmul", "ge.mul", "ge.add", "ge.softmax", "ge.matmul"]} : (tensor<1x4x8xf32>, tensor<1x8x4xf32>, tensor<1x4x8xf32>, tensor<1x4x4xf32>) -> tensor<1x4x8xf32>
  func.return %a : tensor<1x4x8xf32>
}

// -----

// A cube kernel of integer-valued operands (a quantized matmul: the centred input, an
// integral weight) keeps f32, whose sums are its exact integers; a float one beside it
// takes f16 operands.
// CHECK-LABEL: func.func @quantized
// CHECK: %[[ACC:.+]] = kernel.matmul %{{.+}}, %{{.+}} {{.+}} : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
// CHECK: kernel.matmul %{{.+}}, %{{.+}} {{.+}} : (tensor<4x8xf16>, tensor<8x4xf16>) -> tensor<4x4xf16>
func.func @quantized(%q: tensor<4x8xui8>, %x: tensor<4x8xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %c = kernel.elementwise %q {fused_from = ["ge.cast", "ge.sub"]} : (tensor<4x8xui8>) -> tensor<4x8xf32> {
  ^bb0(%0: tensor<ui8>):
    %1 = ge.cast %0 {to = f32} : (tensor<ui8>) -> tensor<f32>
    %2 = ge.constant dense<1.280000e+02> : tensor<f32>
    %3 = ge.sub %1, %2 : (tensor<f32>, tensor<f32>) -> tensor<f32>
    kernel.yield %3 : tensor<f32>
  }
  %w = ge.constant dense<-1.270000e+02> : tensor<8x4xf32>
  %acc = kernel.matmul %c, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %float = kernel.matmul %x, %w {transpose_a = false, transpose_b = false, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  func.return %acc, %float : tensor<4x4xf32>, tensor<4x4xf32>
}
