// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// A 1x1 conv (a GEMM per image) with batch-norm scale and shift, a residual and relu, on an
// image large enough for several tiles a core (on a smaller one each core takes one tile).
// Its 32-row tiles drain in two 16-row chunks, each with UB buffers of its own: FIX moves both
// chunks out of L0C, MTE2 loads the operand tiles of both chunks first (one batch on the
// core's in-order HBM channel), then the vector unit runs the epilogue of chunk 0, flags MTE3,
// and runs chunk 1 while MTE3 stores chunk 0. The store of a tile (issued after the next
// tile's K loop) waits for each chunk's own flag.
func.func @conv1x1(%x: tensor<1x64x112x112xf32>, %w: tensor<32x64x1x1xf32>, %s: tensor<32xf32>, %b: tensor<32xf32>, %r: tensor<1x32x112x112xf32>) -> tensor<1x32x112x112xf32> {
  %y = kernel.conv2d %x, %w scale %s : tensor<32xf32> shift %b : tensor<32xf32> residual %r : tensor<1x32x112x112xf32> {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, post_activation = "relu", fused_from = ["ge.conv2d"]} : tensor<1x64x112x112xf32>, tensor<32x64x1x1xf32> -> tensor<1x32x112x112xf32>
  func.return %y : tensor<1x32x112x112xf32>
}

// CHECK-LABEL: func.func @conv1x1
// CHECK:        npu.kernel "conv2d_0"
// CHECK-DAG:      %[[C:.*]] = npu.alloc : !npu.buffer<32x64xf32, l0c, FRACTAL_NZ>
// CHECK-DAG:      %[[U0:.*]] = npu.alloc : !npu.buffer<16x64xf32, ub>
// CHECK-DAG:      %[[U1:.*]] = npu.alloc : !npu.buffer<16x64xf32, ub>
// CHECK:          scf.for
// CHECK:            npu.mmad
// CHECK:            npu.wait_flag "V" -> "MTE3" [12]
// CHECK-NEXT:       npu.dma {{.*}} -> !npu.buffer<1x32x12544xf32, hbm>
// CHECK-NEXT:       npu.wait_flag "V" -> "MTE3" [13]
// CHECK:            npu.dma {{.*}} -> !npu.buffer<1x32x12544xf32, hbm>
// CHECK-NEXT:       npu.set_flag "MTE3" -> "FIX" [1]
// CHECK:            npu.wait_flag "MTE3" -> "FIX" [0]
// CHECK-NEXT:       npu.dma %[[C]] [0, 0] [16, {{.*}}] -> %[[U0]] [0, 0]
// CHECK-NEXT:       npu.dma %[[C]] [16, 0] [16, {{.*}}] -> %[[U1]] [0, 0]
// CHECK-NEXT:       npu.set_flag "FIX" -> "M" [0]
// CHECK:            npu.wait_flag "V" -> "MTE2" [2]
// CHECK-COUNT-3:    npu.dma {{.*}} -> !npu.buffer<16x{{1|64}}xf32, ub>
// CHECK-NEXT:       npu.set_flag "MTE2" -> "V" [16]
// CHECK:            npu.set_flag "MTE2" -> "V" [17]
// CHECK-NEXT:       npu.wait_flag "MTE2" -> "V" [16]
// CHECK-NEXT:       npu.vec_mul %[[U0]]
// CHECK-NEXT:       npu.vec_add %[[U0]]
// CHECK-NEXT:       npu.vec_add %[[U0]]
// CHECK-NEXT:       npu.vec_relu %[[U0]]
// CHECK-NEXT:       npu.set_flag "V" -> "MTE3" [8]
// CHECK-NEXT:       npu.wait_flag "MTE2" -> "V" [17]
// CHECK-NEXT:       npu.vec_mul %[[U1]]
// CHECK:            npu.vec_relu %[[U1]]
// CHECK-NEXT:       npu.set_flag "V" -> "MTE3" [9]
// CHECK-NEXT:       npu.set_flag "V" -> "MTE2" [2]
