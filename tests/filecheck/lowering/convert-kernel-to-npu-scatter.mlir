// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// A row scatter (ScatterND's form): data, indices, updates and output seen as (outer, N,
// inner), (P,), (outer, P, inner), (outer, N, inner). A copy kernel fills the output with
// the data (both seen flat, so its tiles are long rows whatever inner is); then per tile the
// indices come into UB with their update rows, the S pipe reads each index (wrapped,
// range-checked against the 100 rows) and MTE3 stores its row after the read.
func.func @scatter(%d: tensor<100x64xf32>, %i: tensor<2x4xi64>, %u: tensor<2x4x64xf32>) -> tensor<100x64xf32> {
  %y = kernel.scatter %d, %i, %u {axis = 0 : i64, reduction = "none", fused_from = ["ge.scatter"]} : (tensor<100x64xf32>, tensor<2x4xi64>, tensor<2x4x64xf32>) -> tensor<100x64xf32>
  func.return %y : tensor<100x64xf32>
}

// CHECK-LABEL: func.func @scatter
// CHECK:         %[[Y:.*]] = npu.hbm_alloc : !npu.buffer<100x64xf32, hbm>
// CHECK:         %[[D:.*]] = npu.reshape %d : !npu.buffer<100x64xf32, hbm> -> !npu.buffer<1x100x64xf32, hbm>
// CHECK:         %[[I:.*]] = npu.reshape %i : !npu.buffer<2x4xi64, hbm> -> !npu.buffer<8xi64, hbm>
// CHECK:         %[[U:.*]] = npu.reshape %u : !npu.buffer<2x4x64xf32, hbm> -> !npu.buffer<1x8x64xf32, hbm>
// CHECK:         %[[O:.*]] = npu.reshape %[[Y]] : !npu.buffer<100x64xf32, hbm> -> !npu.buffer<1x100x64xf32, hbm>
// CHECK:         %[[DF:.*]] = npu.reshape %d : !npu.buffer<100x64xf32, hbm> -> !npu.buffer<1x6400xf32, hbm>
// CHECK:         %[[OF:.*]] = npu.reshape %[[Y]] : !npu.buffer<100x64xf32, hbm> -> !npu.buffer<1x6400xf32, hbm>
// CHECK:         npu.kernel "scatter_0_copy" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "copy"}
// CHECK:           npu.dma %[[DF]]
// CHECK:           npu.dma {{.*}} -> %[[OF]]
// CHECK:         npu.kernel "scatter_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "scatter"}
// CHECK:           %[[IDX:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}xi64, ub>
// CHECK:           %[[ROWS:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}xf32, ub>
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               npu.wait_flag "MTE3" -> "MTE2"
// CHECK:               npu.dma %[[I]] {{.*}} -> %[[IDX]]
// CHECK:               npu.dma %[[U]] {{.*}} -> %[[ROWS]]
// CHECK:               npu.wait_flag "MTE2" -> "MTE3"
// CHECK:               npu.wait_flag "MTE2" -> "S"
// CHECK:               scf.for %[[J:.*]] =
// CHECK:                 %[[ROW:.*]] = npu.load_scalar %[[IDX]] [%[[J]]] {bound = 100 : i64}
// CHECK:                 npu.wait_flag "S" -> "MTE3"
// CHECK:                 npu.dma %[[ROWS]] [%[[J]], 0] {{.*}} -> %[[O]] [{{.*}}, %[[ROW]], {{.*}}] [1, 1, {{.*}}]
// CHECK-NOT:     npu.kernel

// -----

// An add is the DMA unit's atomic add: no read back, and the chunks of indices (here 8
// of one index, x 4 column blocks) go to any core, since the adds commute.
func.func @scatter_add(%d: tensor<100x64xf32>, %i: tensor<8xi32>, %u: tensor<8x64xf32>) -> tensor<100x64xf32> {
  %y = kernel.scatter %d, %i, %u {axis = 0 : i64, reduction = "add", fused_from = ["ge.scatter"]} : (tensor<100x64xf32>, tensor<8xi32>, tensor<8x64xf32>) -> tensor<100x64xf32>
  func.return %y : tensor<100x64xf32>
}

// CHECK-LABEL: func.func @scatter_add
// CHECK:         npu.kernel "scatter_0_copy"
// CHECK:         npu.kernel "scatter_0" block_dim = 32 attributes {{{.*}}kind = "scatter"}
// CHECK:           %[[IDX:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}xi32, ub>
// CHECK:           %[[ROWS:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}xf32, ub>
// CHECK:           scf.for
// CHECK-NOT:         scf.for
// CHECK:             npu.dma {{.*}} -> %[[IDX]]
// CHECK:             npu.dma {{.*}} -> %[[ROWS]]
// CHECK:             scf.for %[[J:.*]] =
// CHECK:               %[[ROW:.*]] = npu.load_scalar %[[IDX]] [%[[J]]] {bound = 100 : i64}
// CHECK:               npu.wait_flag "S" -> "MTE3"
// CHECK:               npu.dma %[[ROWS]] [%[[J]], 0] {{.*}} -> %{{.*}} [{{.*}}, %[[ROW]], {{.*}}] [1, 1, {{.*}}] {atomic = "add"}
// CHECK-NOT:     npu.vec_add

// -----

// A max (mul, min) is a read-modify-write of each update's row: MTE2 loads the row and the
// update, the vector unit combines them, MTE3 stores the row, and the next update waits.
func.func @scatter_max(%d: tensor<100x64xf32>, %i: tensor<8xi32>, %u: tensor<8x64xf32>) -> tensor<100x64xf32> {
  %y = kernel.scatter %d, %i, %u {axis = 0 : i64, reduction = "max", fused_from = ["ge.scatter"]} : (tensor<100x64xf32>, tensor<8xi32>, tensor<8x64xf32>) -> tensor<100x64xf32>
  func.return %y : tensor<100x64xf32>
}

// CHECK-LABEL: func.func @scatter_max
// CHECK:         npu.kernel "scatter_0_copy"
// CHECK:         npu.kernel "scatter_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "scatter"}
// CHECK:           %[[IDX:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}xi32, ub>
// CHECK:           %[[CUR:.*]] = npu.alloc : !npu.buffer<1x{{[0-9]+}}xf32, ub>
// CHECK:           %[[UPD:.*]] = npu.alloc : !npu.buffer<1x{{[0-9]+}}xf32, ub>
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               scf.for %[[J:.*]] =
// CHECK:                 %[[ROW:.*]] = npu.load_scalar %[[IDX]] [%[[J]]] {bound = 100 : i64}
// CHECK:                 npu.wait_flag "S" -> "MTE2"
// CHECK:                 npu.dma %[[O:.*]] [{{.*}}, %[[ROW]], {{.*}}] {{.*}} -> %[[CUR]]
// CHECK:                 npu.dma {{.*}} -> %[[UPD]]
// CHECK:                 npu.wait_flag "MTE2" -> "V"
// CHECK:                 npu.vec_max %[[CUR]], %[[UPD]] -> %[[CUR]]
// CHECK:                 npu.wait_flag "V" -> "MTE3"
// CHECK:                 npu.dma %[[CUR]] {{.*}} -> %[[O]] [{{.*}}, %[[ROW]], {{.*}}]
// CHECK:                 npu.set_flag "MTE3" -> "MTE2" [1]
// CHECK:                 npu.wait_flag "MTE3" -> "MTE2" [1]
