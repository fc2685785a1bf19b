// RUN: ge-opt %s --split-input-file -p fuse-elementwise | filecheck %s

// A chain of elementwise ops is one kernel; the splat constant lives in the body.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[X:.+]]: tensor<3x4xf32>, %[[Y:.+]]: tensor<4xf32>)
// CHECK-NEXT: %[[K:.+]] = kernel.elementwise %[[X]], %[[Y]] {fused_from = ["ge.add", "ge.mul", "ge.exp"]} : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32> {
// CHECK-NEXT: ^{{.*}}(%[[A:[^:]+]]: tensor<f32>, %[[B:[^:]+]]: tensor<f32>):
// CHECK-NEXT: %[[S:.+]] = ge.add %[[A]], %[[B]]
// CHECK-NEXT: %[[H:.+]] = ge.constant dense<5.000000e-01> : tensor<f32>
// CHECK-NEXT: %[[M:.+]] = ge.mul %[[S]], %[[H]]
// CHECK-NEXT: %[[E:.+]] = ge.exp %[[M]]
// CHECK-NEXT: kernel.yield %[[E]] : tensor<f32>
// CHECK-NEXT: }
// CHECK-NEXT: func.return %[[K]]
func.func @chain(%x: tensor<3x4xf32>, %y: tensor<4xf32>) -> tensor<3x4xf32> {
  %s = ge.add %x, %y : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %h = ge.constant dense<0.5> : tensor<1xf32>
  %m = ge.mul %s, %h : (tensor<3x4xf32>, tensor<1xf32>) -> tensor<3x4xf32>
  %e = ge.exp %m : (tensor<3x4xf32>) -> tensor<3x4xf32>
  func.return %e : tensor<3x4xf32>
}

// -----

// TVM's rule: relu joins the conv's epilogue; the exp after it cannot, so it is its own kernel.
// CHECK-LABEL: func.func @into_epilogue
// CHECK: %[[C:.+]] = kernel.conv2d {{.*}}fused_from = ["ge.conv2d", "ge.relu"], activation = "relu"}
// CHECK-NEXT: kernel.elementwise %[[C]] {fused_from = ["ge.exp"]}
func.func @into_epilogue(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %r = ge.relu %c : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %e = ge.exp %r : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %e : tensor<1x2x3x3xf32>
}

// -----

// ge.expand is an input broadcast: it merges into its consumer.
// CHECK-LABEL: func.func @expand_merges
// CHECK-NEXT: kernel.elementwise %{{.+}}, %{{.+}} {fused_from = ["ge.expand", "ge.add"]} : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
func.func @expand_merges(%x: tensor<4xf32>, %y: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %e = ge.expand %x {shape = array<i64: 3, 4>} : (tensor<4xf32>) -> tensor<3x4xf32>
  %s = ge.add %e, %y : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  func.return %s : tensor<3x4xf32>
}

// -----

// The exp result is broadcast (4 -> 3x4) by its consumer: merging would compute each exp
// three times, so the two kernels stay apart.
// CHECK-LABEL: func.func @no_merge_broadcast_producer
// CHECK: %[[E:.+]] = kernel.elementwise %{{.+}} {fused_from = ["ge.exp"]} : (tensor<4xf32>) -> tensor<4xf32>
// CHECK: kernel.elementwise %[[E]], %{{.+}} {fused_from = ["ge.add"]} : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
func.func @no_merge_broadcast_producer(%x: tensor<4xf32>, %y: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %e = ge.exp %x : (tensor<4xf32>) -> tensor<4xf32>
  %s = ge.add %e, %y : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  func.return %s : tensor<3x4xf32>
}

// -----

// The tanh result has two consumers: each would recompute it, so it stays its own kernel.
// CHECK-LABEL: func.func @no_merge_second_consumer
// CHECK: %[[T:.+]] = kernel.elementwise %{{.+}} {fused_from = ["ge.tanh"]}
// CHECK: kernel.elementwise %[[T]] {fused_from = ["ge.neg"]}
// CHECK: kernel.elementwise %[[T]] {fused_from = ["ge.exp"]}
func.func @no_merge_second_consumer(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %t = ge.tanh %x : (tensor<4xf32>) -> tensor<4xf32>
  %n = ge.neg %t : (tensor<4xf32>) -> tensor<4xf32>
  %e = ge.exp %t : (tensor<4xf32>) -> tensor<4xf32>
  func.return %n, %e : tensor<4xf32>, tensor<4xf32>
}
