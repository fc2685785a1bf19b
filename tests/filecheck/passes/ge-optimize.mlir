// RUN: ge-opt %s --split-input-file -p ge-optimize | filecheck %s
// RUN: ge-opt %s --split-input-file -p 'ge-optimize{stats=true}' 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// The seed's first case, a ResNet basic block: Conv-BN-ReLU, Conv-BN, residual Add, ReLU.
// It becomes two kernels, [Conv1+BN1+ReLU1] and [Conv2+BN2+Add+ReLU]: the second form,
// as GE fuses the eltwise add into the conv. Both BNs fold into their conv's weights and
// bias (the weights are private constants); the residual add and the ReLU after it are
// conv2's epilogue, so conv2's result never makes a round trip through memory for them,
// and no separate elementwise kernel is launched.
// CHECK-LABEL: func.func @resnet_basic_block
// CHECK-SAME: (%[[X:.+]]: tensor<1x2x4x4xf32>)
// CHECK: %[[Y1:.+]] = kernel.conv2d %[[X]], %{{.+}} bias %{{.+}} : tensor<2xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.batch_norm", "ge.relu"], activation = "relu"}
// CHECK: %[[Y2:.+]] = kernel.conv2d %[[Y1]], %{{.+}} bias %{{.+}} : tensor<2xf32> residual %[[X]] : tensor<1x2x4x4xf32> {{{.*}}fused_from = ["ge.conv2d", "ge.batch_norm", "ge.add", "ge.relu"], post_activation = "relu"}
// CHECK-NEXT: func.return %[[Y2]]
// CHECK-NOT: kernel.
// STATS: ge-optimize statistics
// STATS: fuse-conv-bn-relu {{.*}} -2 ge.batch_norm, -2 ge.conv2d, -1 ge.relu, +2 kernel.conv2d
// STATS: fuse-conv-residual-add {{.*}} -1 ge.add, -1 ge.relu
// STATS: total: 17 ops -> 6 (2 kernels)
func.func @resnet_basic_block(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w1 = ge.constant dense<[[[[0.1, -0.1, 0.6], [0.1, -0.5, 0.4], [1.3, 0.9, -0.7]], [[-1.3, -0.6, 0.0], [-2.3, -0.2, -1.2], [-0.7, -0.5, -0.3]]], [[[0.4, 1.0, -0.1], [1.4, -0.7, 0.4], [0.9, 0.1, -0.7]], [[-0.9, -0.5, 0.2], [-1.0, -0.2, -0.2], [0.5, 0.2, 0.4]]]]> : tensor<2x2x3x3xf32>
  %g1 = ge.constant dense<[1.5, 0.8]> : tensor<2xf32>
  %b1 = ge.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %m1 = ge.constant dense<[0.3, 0.0]> : tensor<2xf32>
  %v1 = ge.constant dense<[1.2, 0.7]> : tensor<2xf32>
  %w2 = ge.constant dense<[[[[-0.7, -0.1, 0.8], [1.5, -1.3, 1.5], [1.3, 0.8, 0.3]], [[-0.3, 1.5, 2.0], [1.8, 1.3, 0.4], [-1.2, 0.0, 0.7]]], [[[-1.3, 0.4, 0.4], [0.7, -1.2, -0.7], [-0.4, -1.2, 1.7]], [[-0.5, 0.3, -0.3], [1.6, 1.3, 0.6], [-2.2, 0.1, 0.7]]]]> : tensor<2x2x3x3xf32>
  %g2 = ge.constant dense<[0.9, 1.1]> : tensor<2xf32>
  %b2 = ge.constant dense<[0.0, 0.2]> : tensor<2xf32>
  %m2 = ge.constant dense<[-0.1, 0.2]> : tensor<2xf32>
  %v2 = ge.constant dense<[0.6, 1.3]> : tensor<2xf32>
  %c1 = ge.conv2d %x, %w1 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  %n1 = ge.batch_norm %c1, %g1, %b1, %m1, %v1 {epsilon = 1.0e-05 : f64} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %r1 = ge.relu %n1 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %c2 = ge.conv2d %r1, %w2 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  %n2 = ge.batch_norm %c2, %g2, %b2, %m2, %v2 {epsilon = 1.0e-05 : f64} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %a = ge.add %n2, %x : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %r2 = ge.relu %a : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  func.return %r2 : tensor<1x2x4x4xf32>
}

// -----

// The seed's second case, an attention block (scores scaled by 1/sqrt(d), a padding
// mask, softmax, inference dropout): one kernel.attention, K's transpose inside it.
// CHECK-LABEL: func.func @attention_block
// CHECK-SAME: (%[[Q:.+]]: tensor<2x4x8xf32>, %[[K:.+]]: tensor<2x4x8xf32>, %[[V:.+]]: tensor<2x4x8xf32>, %[[M:.+]]: tensor<2x1x4xf32>)
// CHECK-NEXT: %[[A:.+]] = kernel.attention %[[Q]], %[[K]], %[[V]] mask %[[M]] {scale = 0.353553{{[0-9]+}} : f64, key_transposed = true, fused_from = ["ge.transpose", "ge.matmul", "ge.div", "ge.add", "ge.softmax", "ge.matmul"]}
// CHECK-NEXT: func.return %[[A]]
// STATS: fuse-attention {{.*}} -2 ge.matmul, -1 ge.add, -1 ge.constant, -1 ge.div, -1 ge.softmax, -1 ge.transpose, +1 kernel.attention
// STATS: total: 8 ops -> 1 (1 kernels)
func.func @attention_block(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>, %mask: tensor<2x1x4xf32>) -> tensor<2x4x8xf32> {
  %kt = ge.transpose %k {perm = array<i64: 0, 2, 1>} : (tensor<2x4x8xf32>) -> tensor<2x8x4xf32>
  %s = ge.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32>
  %d = ge.constant dense<2.82842708> : tensor<f32>
  %sc = ge.div %s, %d : (tensor<2x4x4xf32>, tensor<f32>) -> tensor<2x4x4xf32>
  %sm = ge.add %sc, %mask : (tensor<2x4x4xf32>, tensor<2x1x4xf32>) -> tensor<2x4x4xf32>
  %p = ge.softmax %sm {axis = -1 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %dp = ge.dropout %p {ratio = 0.1 : f64, is_training = false, seed = 0 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %o = ge.matmul %dp, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %o : tensor<2x4x8xf32>
}

// -----

// The same block when the attention probabilities are also an output: one attention
// kernel would not produce them, so it becomes GE's other form, [MatMul+Scale] and
// [Softmax] (and the second matmul), each fused as far as the shared value allows.
// CHECK-LABEL: func.func @attention_probabilities_returned
// CHECK-NEXT: %[[S:.+]] = kernel.matmul %{{.+}}, %{{.+}} {transpose_a = false, transpose_b = true, alpha = 0.353553{{[0-9]+}} : f64, fused_from = ["ge.transpose", "ge.matmul", "ge.div"]}
// CHECK-NEXT: %[[P:.+]] = kernel.softmax %[[S]] {{{.*}}fused_from = ["ge.softmax"]}
// CHECK-NEXT: %[[O:.+]] = kernel.matmul %[[P]], %{{.+}} {{{.*}}fused_from = ["ge.matmul"]}
// CHECK-NEXT: func.return %[[O]], %[[P]]
func.func @attention_probabilities_returned(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x4xf32>) {
  %kt = ge.transpose %k {perm = array<i64: 0, 2, 1>} : (tensor<2x4x8xf32>) -> tensor<2x8x4xf32>
  %s = ge.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32>
  %d = ge.constant dense<2.82842708> : tensor<f32>
  %sc = ge.div %s, %d : (tensor<2x4x4xf32>, tensor<f32>) -> tensor<2x4x4xf32>
  %p = ge.softmax %sc {axis = -1 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %o = ge.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  func.return %o, %p : tensor<2x4x8xf32>, tensor<2x4x4xf32>
}
