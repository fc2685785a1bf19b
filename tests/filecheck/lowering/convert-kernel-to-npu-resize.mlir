// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// Nearest x2 upsampling: input rows land in (planes, rows, 1, W, 1), one broadcasting vec_max
// against a (1, 1, 2, 1, 2) buffer of -inf writes the (planes, rows, 2, W, 2) tile, which is
// the output rows row-major: one reshaping DMA stores it.
func.func @up(%x: tensor<1x8x5x5xf32>) -> tensor<1x8x10x10xf32> {
  %y = kernel.resize %x {sizes = array<i64: 1, 8, 10, 10>, mode = "nearest", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor", fused_from = ["ge.resize"]} : (tensor<1x8x5x5xf32>) -> tensor<1x8x10x10xf32>
  func.return %y : tensor<1x8x10x10xf32>
}

// CHECK-LABEL: func.func @up
// CHECK:         %[[IN:.*]] = npu.reshape %x : !npu.buffer<1x8x5x5xf32, hbm> -> !npu.buffer<8x5x5xf32, hbm>
// CHECK:         %[[OUT:.*]] = npu.reshape %y : !npu.buffer<1x8x10x10xf32, hbm> -> !npu.buffer<8x10x10xf32, hbm>
// CHECK:         npu.kernel "resize_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "resize"}
// CHECK:           %[[NEG:.*]] = npu.alloc : !npu.buffer<1x1x2x1x2xf32, ub>
// CHECK:           npu.vec_dup 0xfff0000000000000 -> %[[NEG]]
// CHECK:           %[[SRC:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}x1x5x1xf32, ub>
// CHECK:           %[[DST:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}x2x5x2xf32, ub>
// CHECK:           scf.for
// CHECK:             npu.dma %[[IN]] {{.*}} -> %[[SRC]] [0, 0, 0, 0, 0] [{{[0-9]+}}, %{{.*}}, 1, 5, 1]
// CHECK:             npu.vec_max %[[SRC]], %[[NEG]] -> %[[DST]]
// CHECK:             npu.dma %[[DST]] [0, 0, 0, 0, 0] [{{[0-9]+}}, %{{.*}}, 2, 5, 2] -> %[[OUT]] [%{{.*}}, %{{.*}}, 0] [{{[0-9]+}}, %{{.*}}, 10]

// -----

// Nearest /3 on rows (half_pixel: rows 1, 4, 7): one strided vec_window copy of the band.
func.func @down(%x: tensor<1x3x9x10xf32>) -> tensor<1x3x3x10xf32> {
  %y = kernel.resize %x {sizes = array<i64: 1, 3, 3, 10>, mode = "nearest", coordinate_transformation_mode = "half_pixel", nearest_mode = "round_prefer_floor", fused_from = ["ge.resize"]} : (tensor<1x3x9x10xf32>) -> tensor<1x3x3x10xf32>
  func.return %y : tensor<1x3x3x10xf32>
}

// CHECK-LABEL: func.func @down
// CHECK:         npu.kernel "resize_0"
// CHECK:           scf.for
// CHECK:             npu.dma %{{.*}} [%{{.*}}, %{{.*}}, 0] {{.*}} -> %[[BAND:.*]] [0, 0, 0]
// CHECK:             npu.vec_window "copy" %[[BAND]] [0, 0, 0] step [1, 3, 1]
