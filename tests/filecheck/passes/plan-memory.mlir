// RUN: ge-opt %s --split-input-file -p plan-memory | filecheck %s
// RUN: ge-opt %s --split-input-file -p 'plan-memory{reuse=false}' | filecheck %s --check-prefix=NOREUSE

// The seed: bn and relu write into the conv's buffer as it dies; the weights are not in
// the arena; the 2 KiB input lives for the whole run, one 2 KiB buffer for the rest.
// CHECK-LABEL: func.func @conv_bn_relu
// CHECK-SAME:    %{{.*}}: tensor<1x8x8x8xf32> {mem.offset = [[IN:[0-9]+]] : i64}
// CHECK-SAME:    attributes {mem.arena_bytes = 4096 : i64, mem.lower_bound_bytes = 4096 : i64
// CHECK:         %[[W:[a-z0-9_]+]] = ge.constant {{[^{]*}} : tensor<8x8x3x3xf32>{{$}}
// CHECK:         %[[C:[a-z0-9_]+]] = ge.conv2d %{{.*}}, %[[W]] {mem.offset = array<i64: [[OFF:[0-9]+]]>
// CHECK:         ge.batch_norm %[[C]], {{.*}}mem.offset = array<i64: [[OFF]]>, mem.inplace = 0 : i64
// CHECK:         ge.relu {{.*}}mem.offset = array<i64: [[OFF]]>, mem.inplace = 0 : i64
// NOREUSE-LABEL: func.func @conv_bn_relu
// NOREUSE-SAME:    mem.arena_bytes = 8192 : i64
// NOREUSE-SAME:    mem.planner = "no-reuse"
// NOREUSE-NOT:     mem.inplace
func.func @conv_bn_relu(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = ge.constant dense<1.0> : tensor<8x8x3x3xf32>
  %s = ge.constant dense<1.0> : tensor<8xf32>
  %c = ge.conv2d %x, %w {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %b = ge.batch_norm %c, %s, %s, %s, %s {epsilon = 1.0e-05 : f64} : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %r = ge.relu %b : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  func.return %r : tensor<1x8x8x8xf32>
}

// -----

// A reshape is a view of its source; a slice of whole rows points into it (512 bytes
// per 128 rows of 4 floats); the buffer that matmul and sigmoid share is free again
// when the last matmul runs.
// CHECK-LABEL: func.func @views_and_reuse
// CHECK:         %[[A:[a-z0-9_]+]] = ge.relu {{.*}}mem.offset = array<i64: [[A_OFF:[0-9]+]]>
// CHECK:         ge.reshape %[[A]] {mem.offset = array<i64: [[A_OFF]]>
// CHECK:         ge.slice %[[A]] {{.*}}mem.offset = array<i64: [[ROW:[0-9]+]]>
// CHECK:         ge.matmul {{.*}}mem.offset = array<i64: [[M1:[0-9]+]]>
// CHECK:         ge.sigmoid {{.*}}mem.offset = array<i64: [[M1]]>, mem.inplace = 0 : i64
// CHECK:         ge.matmul {{.*}}mem.offset = array<i64: [[M2:[0-9]+]]>
// CHECK:         ge.matmul {{.*}}mem.offset = array<i64: [[M1]]>
func.func @views_and_reuse(%x: tensor<256x4xf32>, %w: tensor<4x4xf32>) -> (tensor<1024xf32>, tensor<128x4xf32>) {
  %a = ge.relu %x : (tensor<256x4xf32>) -> tensor<256x4xf32>
  %f = ge.reshape %a {shape = array<i64: 1024>} : (tensor<256x4xf32>) -> tensor<1024xf32>
  %r = ge.slice %a {starts = array<i64: 128>, ends = array<i64: 256>, axes = array<i64: 0>, steps = array<i64: 1>} : (tensor<256x4xf32>) -> tensor<128x4xf32>
  %m = ge.matmul %r, %w : (tensor<128x4xf32>, tensor<4x4xf32>) -> tensor<128x4xf32>
  %n = ge.sigmoid %m : (tensor<128x4xf32>) -> tensor<128x4xf32>
  %p = ge.matmul %n, %w : (tensor<128x4xf32>, tensor<4x4xf32>) -> tensor<128x4xf32>
  %q = ge.matmul %p, %w : (tensor<128x4xf32>, tensor<4x4xf32>) -> tensor<128x4xf32>
  func.return %f, %q : tensor<1024xf32>, tensor<128x4xf32>
}

// -----

// Kernel level: a conv whose epilogue adds a residual writes over the residual when it
// dies there, but never over a residual that is also the conv's input (the windows of
// later outputs still read it); kernel.elementwise writes over its dying input.
// CHECK-LABEL: func.func @kernels
// CHECK:         %[[R:[a-z0-9_]+]] = kernel.conv2d {{.*}}mem.offset = array<i64: [[R_OFF:[0-9]+]]>
// CHECK:         kernel.conv2d %[[R]], {{.*}}mem.offset = array<i64: [[D_OFF:[0-9]+]]>
// CHECK:         %[[T:[a-z0-9_]+]] = kernel.conv2d {{.*}} residual %[[R]] {{.*}}mem.offset = array<i64: [[R_OFF]]>, mem.inplace = 2 : i64
// CHECK:         kernel.conv2d %[[T]], {{.*}} residual %[[T]] {{.*}}{mem.offset = array<i64: [[D_OFF]]>, strides
// CHECK:         kernel.elementwise {{.*}}mem.offset = array<i64: [[D_OFF]]>, mem.inplace = 0 : i64
func.func @kernels(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = ge.constant dense<1.0> : tensor<8x8x3x3xf32>
  %r = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d", "ge.relu"], activation = "relu"} : tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32> -> tensor<1x8x8x8xf32>
  %d = kernel.conv2d %r, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32> -> tensor<1x8x8x8xf32>
  %t = kernel.conv2d %d, %w residual %r : tensor<1x8x8x8xf32> {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d", "ge.add"]} : tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32> -> tensor<1x8x8x8xf32>
  %u = kernel.conv2d %t, %w residual %t : tensor<1x8x8x8xf32> {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d", "ge.add"]} : tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32> -> tensor<1x8x8x8xf32>
  %v = kernel.elementwise %u {fused_from = ["ge.sigmoid", "ge.mul"]} : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  ^bb0(%0: tensor<f32>):
    %1 = ge.sigmoid %0 : (tensor<f32>) -> tensor<f32>
    %2 = ge.mul %1, %0 : (tensor<f32>, tensor<f32>) -> tensor<f32>
    kernel.yield %2 : tensor<f32>
  }
  func.return %v : tensor<1x8x8x8xf32>
}
