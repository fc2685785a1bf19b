// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// A 3x3, stride 2, padded conv with bias and relu on 33 images (more units than cores; with
// one unit per core the kernel is the same code without the loop). Units are software
// pipelined on each core: the loop body runs the K loop of one unit, the loads of the next
// (input rows NCHW -> UB -> NC1HWC0 -> L1 with zero padding rows, weights into L1 in the
// img2col K order), then the drain of the first (FIX, a transpose to (channels, pixels), the
// epilogue on the vector unit and MTE3 into the NCHW output view). The rows of a unit sit in
// L1 from its first padded row, so img2col runs without vertical padding; K parts (C1 slices)
// have L1 buffers of their own, so the cube starts on one part while the next one loads.
func.func @conv(%x: tensor<33x20x9x9xf32>, %w: tensor<24x20x3x3xf32>, %b: tensor<24xf32>) -> tensor<33x24x5x5xf32> {
  %y = kernel.conv2d %x, %w bias %b : tensor<24xf32> {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<33x20x9x9xf32>, tensor<24x20x3x3xf32> -> tensor<33x24x5x5xf32>
  func.return %y : tensor<33x24x5x5xf32>
}

// CHECK:      func.func @conv(%x: !npu.buffer<33x20x9x9xf32, hbm>, %w: !npu.buffer<24x20x3x3xf32, hbm>, %b: !npu.buffer<24xf32, hbm>) -> !npu.buffer<33x24x5x5xf32, hbm>
// CHECK:        %[[OUT:.*]] = npu.hbm_alloc : !npu.buffer<33x24x5x5xf32, hbm>
// CHECK:        %[[VIEW:.*]] = npu.reshape %[[OUT]] : !npu.buffer<33x24x5x5xf32, hbm> -> !npu.buffer<33x24x25xf32, hbm>
// CHECK:        %[[BIAS:.*]] = npu.reshape %b : !npu.buffer<24xf32, hbm> -> !npu.buffer<24x1xf32, hbm>
// CHECK:        npu.kernel "conv2d_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "conv2d"}
// CHECK-DAG:      %[[ROWS:.*]] = npu.alloc : !npu.buffer<1x1x{{[0-9]+}}x9x16xf32, l1, NC1HWC0>
// CHECK-DAG:      npu.alloc : !npu.buffer<144x{{[0-9]+}}xf32, l1, FRACTAL_Z>
// CHECK-DAG:      %[[ZERO:.*]] = npu.alloc : !npu.buffer<1x1x1x9x16xf32, ub, NC1HWC0>
// CHECK-DAG:      npu.vec_dup 0.000000e+00 -> %[[ZERO]]
// CHECK-DAG:      npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}xf32, l0c, FRACTAL_NZ>
// CHECK:          scf.for
// CHECK:            npu.wait_flag "FIX" -> "M"
// CHECK:            npu.img2col {{.*}} {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 1, 1>, dilations = array<i64: 1, 1>}
// CHECK:            npu.mmad
// CHECK:            npu.set_flag "M" -> "FIX"
// CHECK:            npu.dma %[[ZERO]]{{.*}} -> %[[ROWS]]
// CHECK:            npu.dma %x{{.*}} {pad = 0.000000e+00 : f64}
// CHECK:            npu.trans_data
// CHECK:            npu.dma {{.*}} -> %[[ROWS]]
// CHECK:            npu.set_flag "MTE3" -> "MTE1"
// CHECK:            npu.dma %w{{.*}} {pad = 0.000000e+00 : f64}
// CHECK:            npu.vec_transpose {{.*}} perm = [2, 3, 1, 0]
// CHECK:            npu.wait_flag "M" -> "FIX"
// CHECK:            npu.dma {{.*}} : !npu.buffer<{{.*}}, l0c, FRACTAL_NZ> -> !npu.buffer<{{.*}}, ub>
// CHECK:            npu.set_flag "FIX" -> "M"
// CHECK:            npu.vec_transpose {{.*}} perm = [1, 0]
// CHECK:            npu.dma %[[BIAS]]
// CHECK:            npu.vec_add
// CHECK:            npu.vec_relu
// CHECK:            npu.dma {{.*}} -> %[[VIEW]]

// A 1x1 stride-2 conv reads only the even input rows: the kernel sees the input through an
// (N, C, H / 2, 2 * W) view whose first W columns are those rows, loads 4 rows per tile
// instead of 7, and img2col strides 1 vertically (2 along the row).
func.func @skip_rows(%x: tensor<1x32x8x8xf32>, %w: tensor<16x32x1x1xf32>) -> tensor<1x16x4x4xf32> {
  %y = kernel.conv2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x32x8x8xf32>, tensor<16x32x1x1xf32> -> tensor<1x16x4x4xf32>
  func.return %y : tensor<1x16x4x4xf32>
}

// CHECK:      func.func @skip_rows(%x: !npu.buffer<1x32x8x8xf32, hbm>
// CHECK:        %[[ROWS:.*]] = npu.reshape %x : !npu.buffer<1x32x8x8xf32, hbm> -> !npu.buffer<1x32x4x16xf32, hbm>
// CHECK:        npu.kernel "conv2d_0"
// CHECK-DAG:      npu.alloc : !npu.buffer<1x1x4x8x16xf32, l1, NC1HWC0>
// CHECK-DAG:      npu.dma %[[ROWS]]{{.*}} {pad = 0.000000e+00 : f64}
// CHECK-NOT:      npu.dma %x
// CHECK:          npu.img2col {{.*}} {kernel = array<i64: 1, 1>, strides = array<i64: 1, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}

// A 7x7 stride-2 conv on 3 channels with constant weights folds its kernel rows into
// channels: channel (i, c) of folded row y is input row 2y + i - 3 of channel c, so the conv
// is (1, 7) with strides (1, 2) over 21 channels (K 2 x 7 x 16 = 224 instead of 1 x 49 x 16).
// The folded rows come one DMA per kernel row from the (N, C, H / 2, 2W) view (the odd rows
// from column 16 on), into a UB buffer zeroed when a row falls in the padding; the weights
// are refolded at compile time.
func.func @fold_rows(%x: tensor<1x3x16x16xf32>) -> tensor<1x16x8x8xf32> {
  %w = ge.constant dense<5.000000e-01> : tensor<16x3x7x7xf32>
  %y = kernel.conv2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 3, 3, 3, 3>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x3x16x16xf32>, tensor<16x3x7x7xf32> -> tensor<1x16x8x8xf32>
  func.return %y : tensor<1x16x8x8xf32>
}

// CHECK:      func.func @fold_rows(%x: !npu.buffer<1x3x16x16xf32, hbm>
// CHECK:        %[[VIEW:.*]] = npu.reshape %x : !npu.buffer<1x3x16x16xf32, hbm> -> !npu.buffer<1x3x8x32xf32, hbm>
// CHECK:        %[[LAID:.*]] = npu.hbm_constant {{.*}} : !npu.buffer<1x224x16xf32, hbm>
// CHECK:        npu.kernel "conv2d_0"
// CHECK:          %[[STAGE:.*]] = npu.alloc : !npu.buffer<1x16x{{[0-9]+}}x16xf32, ub>
// CHECK:          npu.vec_dup 0.000000e+00 -> %[[STAGE]]
// CHECK:          npu.dma %[[VIEW]] [{{.*}}, 0, {{.*}}, 16] [1, 3, {{.*}}, 16] -> %[[STAGE]] [0, 0, {{.*}}, 0]
// CHECK:          npu.dma %[[VIEW]] [{{.*}}, 0, {{.*}}, 0] [1, 3, {{.*}}, 16] -> %[[STAGE]] [0, 3, {{.*}}, 0]
// CHECK:          npu.trans_data %[[STAGE]]
// CHECK:          npu.dma %[[LAID]] [0, 0, 0] [1, 112, 16]
// CHECK-NOT:      npu.dma %x
// CHECK:          npu.img2col {{.*}} {kernel = array<i64: 1, 7>, strides = array<i64: 1, 2>, pads = array<i64: 0, 0, 3, 3>, dilations = array<i64: 1, 1>}
// CHECK:          npu.mmad {{.*}} [16, 16, 112]

// A unit's drain comes in pixel chunks (whole fractals of L0C rows), each through UB buffers
// of its own: FIX, transpose and store of one chunk overlap those of the next.
func.func @drain_chunks(%x: tensor<1x16x64x64xf32>, %w: tensor<32x16x3x3xf32>) -> tensor<1x32x64x64xf32> {
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x16x64x64xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x64x64xf32>
  func.return %y : tensor<1x32x64x64xf32>
}

// CHECK:      func.func @drain_chunks
// CHECK:        %[[OUT:.*]] = npu.reshape %y
// CHECK:        npu.kernel "conv2d_0"
// CHECK:          %[[C:.*]] = npu.alloc : !npu.buffer<128x16xf32, l0c, FRACTAL_NZ>
// CHECK:          npu.mmad {{.*}} -> %[[C]]
// CHECK:          npu.dma %[[C]] [0, 0] [32, 16] -> %[[U0:.*]] [0, 0] [32, 16]
// CHECK:          npu.vec_transpose %[[U0]] -> %[[T0:.*]] perm = [1, 0]
// CHECK:          npu.dma %[[T0]] [0, 0] [16, 32] -> %[[OUT]]
// CHECK:          npu.dma %[[C]] [32, 0] [32, 16] -> %[[U1:.*]] [0, 0] [32, 16]
// CHECK:          npu.vec_transpose %[[U1]]
// CHECK:          npu.dma %[[C]] [64, 0] [32, 16]
// CHECK:          npu.dma %[[C]] [96, 0] [32, 16]
