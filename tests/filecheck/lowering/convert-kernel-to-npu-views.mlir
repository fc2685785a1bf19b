// RUN: ge-opt %s -p 'convert-ge-to-kernel,copy-concat-operands,plan-memory,convert-kernel-to-npu,verify-npu' | filecheck %s

// The memory plan carried into the npu level: a split into contiguous pieces is two views of
// its input's buffer, the concat's producers write views of its buffer (allocated before the
// first of them), the tanh writes over the concat (`mem.inplace`): four kernels, no split or
// concat kernel, every allocation at its planned offset.
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %r = ge.relu %x : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %a, %b = ge.split %r {axis = 1 : i64, sizes = array<i64: 3, 5>} : (tensor<1x8x16xf32>) -> (tensor<1x3x16xf32>, tensor<1x5x16xf32>)
  %e = ge.exp %a : (tensor<1x3x16xf32>) -> tensor<1x3x16xf32>
  %n = ge.neg %b : (tensor<1x5x16xf32>) -> tensor<1x5x16xf32>
  %c = ge.concat %n, %e {axis = 1 : i64} : (tensor<1x5x16xf32>, tensor<1x3x16xf32>) -> tensor<1x8x16xf32>
  %t = ge.tanh %c : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  func.return %t : tensor<1x8x16xf32>
}

// CHECK:      %[[R:.*]] = npu.hbm_alloc {offset = 512 : i64} : !npu.buffer<1x8x16xf32, hbm>
// CHECK:      npu.kernel "elementwise_0"
// CHECK:      npu.view %[[R]] {offset = 0 : i64} : !npu.buffer<1x8x16xf32, hbm> -> !npu.buffer<1x3x16xf32, hbm>
// CHECK-NEXT: npu.view %[[R]] {offset = 48 : i64} : !npu.buffer<1x8x16xf32, hbm> -> !npu.buffer<1x5x16xf32, hbm>
// CHECK-NEXT: %[[C:.*]] = npu.hbm_alloc {offset = 1024 : i64} : !npu.buffer<1x8x16xf32, hbm>
// CHECK-NEXT: npu.view %[[C]] {offset = 80 : i64} : !npu.buffer<1x8x16xf32, hbm> -> !npu.buffer<1x3x16xf32, hbm>
// CHECK:      npu.kernel "elementwise_1"
// CHECK:      npu.view %[[C]] {offset = 0 : i64} : !npu.buffer<1x8x16xf32, hbm> -> !npu.buffer<1x5x16xf32, hbm>
// CHECK:      npu.kernel "elementwise_2"
// CHECK:      %[[T:.*]] = npu.view %[[C]] {offset = 0 : i64} : !npu.buffer<1x8x16xf32, hbm> -> !npu.buffer<1x8x16xf32, hbm>
// CHECK:      npu.kernel "elementwise_3"
// CHECK-NOT:  npu.kernel
// CHECK:      func.return %[[T]]
