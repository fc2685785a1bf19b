// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// An embedding lookup: data, indices and output seen as (outer, N, inner), (I,), (outer, I,
// inner); per tile the indices come into UB, the S pipe reads each (wrapped, range-checked
// against the 100 rows) and the DMA of its row waits for that read.
func.func @gather(%d: tensor<100x64xf32>, %i: tensor<2x16xi64>) -> tensor<2x16x64xf32> {
  %y = kernel.gather %d, %i {axis = 0 : i64, fused_from = ["ge.gather"]} : (tensor<100x64xf32>, tensor<2x16xi64>) -> tensor<2x16x64xf32>
  func.return %y : tensor<2x16x64xf32>
}

// CHECK-LABEL: func.func @gather
// CHECK:         %[[D:.*]] = npu.reshape %d : !npu.buffer<100x64xf32, hbm> -> !npu.buffer<1x100x64xf32, hbm>
// CHECK:         %[[I:.*]] = npu.reshape %i : !npu.buffer<2x16xi64, hbm> -> !npu.buffer<32xi64, hbm>
// CHECK:         %[[O:.*]] = npu.reshape %y : !npu.buffer<2x16x64xf32, hbm> -> !npu.buffer<1x32x64xf32, hbm>
// CHECK:         npu.kernel "gather_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "gather"}
// CHECK:           %[[IDX:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}xi64, ub>
// CHECK:           %[[ROWS:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x64xf32, ub>
// CHECK:           scf.for
// CHECK:             npu.dma %[[I]] {{.*}} -> %[[IDX]]
// CHECK:             npu.wait_flag "MTE2" -> "S"
// CHECK:             scf.for %[[J:.*]] =
// CHECK:               %[[ROW:.*]] = npu.load_scalar %[[IDX]] [%[[J]]] {bound = 100 : i64}
// CHECK:               npu.wait_flag "S" -> "MTE2"
// CHECK:               npu.dma %[[D]] [{{.*}}, %[[ROW]], {{.*}}] [1, 1, {{.*}}] -> %[[ROWS]] [%[[J]], 0]
// CHECK:             npu.wait_flag "MTE2" -> "MTE3"
// CHECK:             npu.dma %[[ROWS]] {{.*}} -> %[[O]]

// -----

// A split writes each piece into its own HBM buffer from one kernel: one tile loop per piece,
// the second reading from column 64 of the input (tiles of a few rows, spread over the cores).
func.func @split(%x: tensor<2x16x192xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x128xf32>) {
  %a, %b = kernel.split %x {axis = 2 : i64, sizes = array<i64: 64, 128>, fused_from = ["ge.split"]} : (tensor<2x16x192xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x128xf32>)
  func.return %a, %b : tensor<2x16x64xf32>, tensor<2x16x128xf32>
}

// CHECK-LABEL: func.func @split
// CHECK:         %[[A:.*]] = npu.hbm_alloc : !npu.buffer<2x16x64xf32, hbm>
// CHECK:         %[[B:.*]] = npu.hbm_alloc : !npu.buffer<2x16x128xf32, hbm>
// CHECK:         npu.kernel "split_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "split"}
// CHECK:           scf.for
// CHECK:             npu.dma %x
// CHECK:             npu.dma {{.*}} -> %[[A]]
// CHECK:           scf.for
// CHECK:             %[[C:.*]] = arith.addi {{.*}}, %{{.*}} : index
// CHECK:             npu.dma %x [{{.*}}, {{.*}}, %[[C]]]
// CHECK:             npu.dma {{.*}} -> %[[B]]
// CHECK-NOT:     npu.kernel

// -----

// where(not mask, x, c): the mask tile is i1, logical_not a compare with 0, where a select;
// the mask's rows of the tile (a few rows: the tiles spread over the cores) and the scalar
// broadcast against the tiles of x.
func.func @masked_fill(%x: tensor<4x16x16xf32>, %m: tensor<16x16xi1>, %c: tensor<f32>) -> tensor<4x16x16xf32> {
  %y = kernel.elementwise %x, %m, %c {fused_from = ["ge.where"]} : (tensor<4x16x16xf32>, tensor<16x16xi1>, tensor<f32>) -> tensor<4x16x16xf32> {
  ^bb0(%a: tensor<f32>, %k: tensor<i1>, %v: tensor<f32>):
    %n = ge.logical_not %k : (tensor<i1>) -> tensor<i1>
    %s = ge.where %n, %a, %v : (tensor<i1>, tensor<f32>, tensor<f32>) -> tensor<f32>
    kernel.yield %s : tensor<f32>
  }
  func.return %y : tensor<4x16x16xf32>
}

// CHECK-LABEL: func.func @masked_fill
// CHECK:         npu.kernel "elementwise_0"
// CHECK:           %[[M:.*]] = npu.alloc : !npu.buffer<[[R:[0-9]+]]x16xi1, ub>
// CHECK:           scf.for
// CHECK:             npu.dma %m {{.*}} -> %[[M]]
// CHECK:             npu.vec_cmps "eq" %[[M]], 0.000000e+00 -> %[[N:.*]] : !npu.buffer<[[R]]x16xi1, ub> -> !npu.buffer<[[R]]x16xi1, ub>
// CHECK:             npu.vec_select %[[N]], {{.*}} : !npu.buffer<[[R]]x16xi1, ub>, !npu.buffer<[[R]]x16xf32, ub>, !npu.buffer<1x1xf32, ub> -> !npu.buffer<[[R]]x16xf32, ub>
