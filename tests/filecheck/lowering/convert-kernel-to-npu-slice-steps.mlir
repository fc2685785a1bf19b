// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu --split-input-file | filecheck %s

// Positive steps on the last two axes: one DMA of the band that spans the tile, then one
// strided vec_window copy picks the tile out of it.
func.func @strided(%x: tensor<4x9x13xf32>) -> tensor<4x4x4xf32> {
  %y = kernel.slice %x {starts = array<i64: 1, 2>, ends = array<i64: 9, 13>, axes = array<i64: 1, 2>, steps = array<i64: 2, 3>, fused_from = ["ge.slice"]} : (tensor<4x9x13xf32>) -> tensor<4x4x4xf32>
  func.return %y : tensor<4x4x4xf32>
}

// CHECK-LABEL: func.func @strided
// CHECK:         npu.kernel "slice_0"
// CHECK:           scf.for
// CHECK:             npu.dma %x
// CHECK:             npu.vec_window "copy" {{.*}} step [2, 3]
// CHECK:             npu.dma {{.*}} -> %{{.*}} : !npu.buffer<{{.*}}, ub> -> !npu.buffer<4x4x4xf32, hbm>

// -----

// A reversal of the rows: one DMA per row, in reverse order (source row = start - i); no
// vector op, MTE3 stores the band itself.
func.func @reversed(%x: tensor<8x6xf32>) -> tensor<8x6xf32> {
  %y = kernel.slice %x {starts = array<i64: 7>, ends = array<i64: -9>, axes = array<i64: 0>, steps = array<i64: -1>, fused_from = ["ge.slice"]} : (tensor<8x6xf32>) -> tensor<8x6xf32>
  func.return %y : tensor<8x6xf32>
}

// CHECK-LABEL: func.func @reversed
// CHECK:         npu.kernel "slice_0"
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               arith.subi
// CHECK:               npu.dma %x
// CHECK-NOT:         npu.vec_
// CHECK:             npu.dma {{.*}} -> %{{.*}} : !npu.buffer<{{.*}}, ub> -> !npu.buffer<8x6xf32, hbm>
