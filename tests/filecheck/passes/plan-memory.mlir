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
