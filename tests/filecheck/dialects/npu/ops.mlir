// RUN: ge-opt %s | ge-opt | filecheck %s
// RUN: ge-opt %s -p verify-npu | filecheck %s

// A one-tile matmul with every kind of npu op: the text round-trips.

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.+]]: !npu.buffer<100x70xf16, hbm>, %[[B:.+]]: !npu.buffer<70x50xf16, hbm>) -> !npu.buffer<100x50xf32, hbm>
func.func @matmul(%a: !npu.buffer<100x70xf16, hbm>, %b: !npu.buffer<70x50xf16, hbm>) -> !npu.buffer<100x50xf32, hbm> {
  // CHECK: %[[C:.+]] = npu.hbm_alloc {offset = 0 : i64} : !npu.buffer<100x50xf32, hbm>
  %c = npu.hbm_alloc {offset = 0 : i64} : !npu.buffer<100x50xf32, hbm>
  // CHECK: npu.kernel "mm" block_dim = 4 attributes {stream = 0 : i64, fused_from = ["MatMul_0"]} {
  // CHECK-NEXT: ^{{.*}}(%[[BLK:.+]]: index):
  npu.kernel "mm" block_dim = 4 attributes {stream = 0 : i64, fused_from = ["MatMul_0"]} {
  ^bb0(%blk: index):
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    // CHECK: %[[A1:.+]] = npu.alloc : !npu.buffer<64x32xf16, l1, FRACTAL_NZ>
    %a1 = npu.alloc : !npu.buffer<64x32xf16, l1, FRACTAL_NZ>
    %a0 = npu.alloc : !npu.buffer<64x32xf16, l0a, FRACTAL_NZ>
    %b0 = npu.alloc : !npu.buffer<32x64xf16, l0b, FRACTAL_NZ>
    %acc = npu.alloc : !npu.buffer<64x64xf32, l0c, FRACTAL_NZ>
    %u = npu.alloc : !npu.buffer<64x64xf32, ub>
    %r = npu.alloc : !npu.buffer<64x1xf32, ub>
    %n = npu.alloc : !npu.buffer<1x20x4x4xf32, ub, NCHW>
    %n5 = npu.alloc : !npu.buffer<1x2x4x4x16xf32, ub, NC1HWC0>
    %img = npu.alloc : !npu.buffer<1x1x8x8x16xf16, l1, NC1HWC0>
    // CHECK: scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} {
    scf.for %i = %c0 to %c64 step %c64 {
      // CHECK-NEXT: npu.dma %[[A]] [%[[I]], 0] [64, 32] -> %[[A1]] [0, 0] [64, 32] {pad = 0.000000e+00 : f64} : !npu.buffer<100x70xf16, hbm> -> !npu.buffer<64x32xf16, l1, FRACTAL_NZ>
      npu.dma %a[%i, 0] [64, 32] -> %a1[0, 0] [64, 32] {pad = 0.0 : f64} : !npu.buffer<100x70xf16, hbm> -> !npu.buffer<64x32xf16, l1, FRACTAL_NZ>
      // CHECK-NEXT: npu.set_flag "MTE2" -> "MTE1" [0]
      npu.set_flag "MTE2" -> "MTE1" [0]
      // CHECK-NEXT: npu.wait_flag "MTE2" -> "MTE1" [%[[I]]]
      npu.wait_flag "MTE2" -> "MTE1" [%i]
      npu.dma %a1[0, 0] [64, 32] -> %a0[0, 0] [64, 32] : !npu.buffer<64x32xf16, l1, FRACTAL_NZ> -> !npu.buffer<64x32xf16, l0a, FRACTAL_NZ>
      // An MTE1 load into L0B in its transposing mode: a (64, 32) window in as (32, 64).
      // CHECK: npu.dma %[[A1]] [0, 0] [64, 32] -> %{{.+}} [0, 0] [32, 64] {transpose} : !npu.buffer<64x32xf16, l1, FRACTAL_NZ> -> !npu.buffer<32x64xf16, l0b, FRACTAL_NZ>
      npu.dma %a1[0, 0] [64, 32] -> %b0[0, 0] [32, 64] {transpose} : !npu.buffer<64x32xf16, l1, FRACTAL_NZ> -> !npu.buffer<32x64xf16, l0b, FRACTAL_NZ>
      %t = arith.constant true
      // CHECK: npu.mmad %{{.+}}, %{{.+}} -> %{{.+}} [%[[I]], 64, 32] accumulate(%{{.+}}) : !npu.buffer<64x32xf16, l0a, FRACTAL_NZ>, !npu.buffer<32x64xf16, l0b, FRACTAL_NZ> -> !npu.buffer<64x64xf32, l0c, FRACTAL_NZ>
      npu.mmad %a0, %b0 -> %acc [%i, 64, 32] accumulate(%t) : !npu.buffer<64x32xf16, l0a, FRACTAL_NZ>, !npu.buffer<32x64xf16, l0b, FRACTAL_NZ> -> !npu.buffer<64x64xf32, l0c, FRACTAL_NZ>
      // CHECK-NEXT: npu.mmad %{{.+}}, %{{.+}} -> %{{.+}} [64, 64, 32] :
      npu.mmad %a0, %b0 -> %acc [64, 64, 32] : !npu.buffer<64x32xf16, l0a, FRACTAL_NZ>, !npu.buffer<32x64xf16, l0b, FRACTAL_NZ> -> !npu.buffer<64x64xf32, l0c, FRACTAL_NZ>
      // CHECK-NEXT: npu.dma %{{.+}} [0, 0] [64, 64] -> %{{.+}} [0, 0] [64, 64] : !npu.buffer<64x64xf32, l0c, FRACTAL_NZ> -> !npu.buffer<64x64xf32, ub>
      npu.dma %acc[0, 0] [64, 64] -> %u[0, 0] [64, 64] : !npu.buffer<64x64xf32, l0c, FRACTAL_NZ> -> !npu.buffer<64x64xf32, ub>
      // CHECK-NEXT: npu.vec_exp %{{.+}} -> %{{.+}} : !npu.buffer<64x64xf32, ub> -> !npu.buffer<64x64xf32, ub>
      npu.vec_exp %u -> %u : !npu.buffer<64x64xf32, ub> -> !npu.buffer<64x64xf32, ub>
      // CHECK-NEXT: npu.vec_reduce_max %{{.+}} -> %{{.+}} axes = [1] : !npu.buffer<64x64xf32, ub> -> !npu.buffer<64x1xf32, ub>
      npu.vec_reduce_max %u -> %r axes = [1] : !npu.buffer<64x64xf32, ub> -> !npu.buffer<64x1xf32, ub>
      // CHECK-NEXT: npu.vec_sub %{{.+}}, %{{.+}} -> %{{.+}} : !npu.buffer<64x64xf32, ub>, !npu.buffer<64x1xf32, ub> -> !npu.buffer<64x64xf32, ub>
      npu.vec_sub %u, %r -> %u : !npu.buffer<64x64xf32, ub>, !npu.buffer<64x1xf32, ub> -> !npu.buffer<64x64xf32, ub>
      // CHECK-NEXT: npu.vec_muls %{{.+}}, 5.000000e-01 -> %{{.+}} :
      npu.vec_muls %u, 5.000000e-01 -> %u : !npu.buffer<64x64xf32, ub> -> !npu.buffer<64x64xf32, ub>
      // CHECK-NEXT: npu.vec_dup 0.000000e+00 -> %{{.+}} : !npu.buffer<64x64xf32, ub>
      npu.vec_dup 0.0 -> %u : !npu.buffer<64x64xf32, ub>
      // Infinities and NaNs print as their bits (as mlir-opt does) and parse back as them.
      // CHECK-NEXT: npu.vec_dup 0xfff0000000000000 -> %{{.+}} : !npu.buffer<64x64xf32, ub>
      npu.vec_dup 0xfff0000000000000 -> %u : !npu.buffer<64x64xf32, ub>
      // CHECK-NEXT: npu.vec_maxs %{{.+}}, 0x7ff0000000000000 -> %{{.+}} :
      npu.vec_maxs %u, 0x7ff0000000000000 -> %u : !npu.buffer<64x64xf32, ub> -> !npu.buffer<64x64xf32, ub>
      // An integer f64 cannot hold (INT64_MAX rounds to 2^63) keeps its exact i64 beside it.
      // CHECK-NEXT: %[[WIDE:.+]] = npu.alloc : !npu.buffer<8xi64, ub>
      %wide = npu.alloc : !npu.buffer<8xi64, ub>
      // CHECK-NEXT: npu.vec_dup 9.2233720368547758e+18 -> %[[WIDE]] {exact = 9223372036854775807 : i64} : !npu.buffer<8xi64, ub>
      npu.vec_dup 9.2233720368547758e+18 -> %wide {exact = 9223372036854775807 : i64} : !npu.buffer<8xi64, ub>
      // CHECK-NEXT: npu.vec_transpose %{{.+}} -> %{{.+}} perm = [1, 0] :
      npu.vec_transpose %u -> %u perm = [1, 0] : !npu.buffer<64x64xf32, ub> -> !npu.buffer<64x64xf32, ub>
      // CHECK-NEXT: npu.trans_data %{{.+}} -> %{{.+}} : !npu.buffer<1x20x4x4xf32, ub, NCHW> -> !npu.buffer<1x2x4x4x16xf32, ub, NC1HWC0>
      npu.trans_data %n -> %n5 : !npu.buffer<1x20x4x4xf32, ub, NCHW> -> !npu.buffer<1x2x4x4x16xf32, ub, NC1HWC0>
      // CHECK-NEXT: npu.img2col %{{.+}} [%[[I]], 0] -> %{{.+}} [64, 32] {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : !npu.buffer<1x1x8x8x16xf16, l1, NC1HWC0> -> !npu.buffer<64x32xf16, l0a, FRACTAL_NZ>
      npu.img2col %img[%i, 0] -> %a0[64, 32] {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : !npu.buffer<1x1x8x8x16xf16, l1, NC1HWC0> -> !npu.buffer<64x32xf16, l0a, FRACTAL_NZ>
      // CHECK-NEXT: npu.dma %{{.+}} [0, 0] [64, 50] -> %[[C]] [%[[I]], 0] [64, 50] :
      npu.dma %u[0, 0] [64, 50] -> %c[%i, 0] [64, 50] : !npu.buffer<64x64xf32, ub> -> !npu.buffer<100x50xf32, hbm>
    }
  }
  // CHECK: npu.record_event stream = 0 event = 1
  npu.record_event stream = 0 event = 1
  // CHECK-NEXT: npu.wait_event stream = 1 event = 1
  npu.wait_event stream = 1 event = 1
  func.return %c : !npu.buffer<100x50xf32, hbm>
}
