// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// Reflect: planes views; per tile one DMA of the image rows into columns [1, 9) of a UB row
// buffer, one DMA per pad row from the row it mirrors (on the tile that holds it), then the
// pad columns copied UB -> UB from the columns they mirror, and the tile stored.
func.func @reflect(%x: tensor<1x4x6x8xf32>) -> tensor<1x4x8x10xf32> {
  %y = kernel.pad %x {pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>, mode = "reflect", value = 0.0 : f64, fused_from = ["ge.pad"]} : (tensor<1x4x6x8xf32>) -> tensor<1x4x8x10xf32>
  func.return %y : tensor<1x4x8x10xf32>
}

// CHECK-LABEL: func.func @reflect
// CHECK:         %[[IN:.*]] = npu.reshape %x : !npu.buffer<1x4x6x8xf32, hbm> -> !npu.buffer<4x6x8xf32, hbm>
// CHECK:         %[[OUT:.*]] = npu.reshape %y : !npu.buffer<1x4x8x10xf32, hbm> -> !npu.buffer<4x8x10xf32, hbm>
// CHECK:         npu.kernel "pad_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "pad"}
// CHECK:           %[[BUF:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}x10xf32, ub>
// CHECK:           scf.for
// CHECK:             npu.wait_flag "MTE3" -> "MTE2" [0]
// CHECK:             npu.dma %[[IN]] {{.*}} -> %[[BUF]] [0, %{{.*}}, 1]
// CHECK:             scf.if
// CHECK-NEXT:          npu.dma %[[IN]] [%{{.*}}, 1, 0] [{{[0-9]+}}, 1, 8] -> %[[BUF]] [0, 0, 1]
// CHECK:             scf.if
// CHECK-NEXT:          npu.dma %[[IN]] [%{{.*}}, 4, 0] [{{[0-9]+}}, 1, 8] -> %[[BUF]]
// CHECK:             npu.set_flag "MTE2" -> "V" [0]
// CHECK:             npu.dma %[[BUF]] [0, 0, 2] [{{.*}}, 1] -> %[[BUF]] [0, 0, 0]
// CHECK:             npu.dma %[[BUF]] [0, 0, 7] [{{.*}}, 1] -> %[[BUF]] [0, 0, 9]
// CHECK:             npu.set_flag "V" -> "MTE3" [0]
// CHECK:             npu.dma %[[BUF]] {{.*}} -> %[[OUT]]

// -----

// Constant with a crop: the pad columns are filled once, tiles that reach a pad row are filled
// first, the image rows start at the crop's offset.
func.func @constant(%x: tensor<1x2x6x8xf32>) -> tensor<1x2x7x8xf32> {
  %y = kernel.pad %x {pads = array<i64: 0, 0, 1, -1, 0, 0, 0, 1>, mode = "constant", value = 2.5 : f64, fused_from = ["ge.pad"]} : (tensor<1x2x6x8xf32>) -> tensor<1x2x7x8xf32>
  func.return %y : tensor<1x2x7x8xf32>
}

// CHECK-LABEL: func.func @constant
// CHECK:         npu.kernel "pad_0"
// CHECK:           %[[BUF:.*]] = npu.alloc : !npu.buffer<{{.*}}x8xf32, ub>
// CHECK:           npu.vec_dup 2.500000e+00 -> %[[BUF]]
// CHECK:           scf.for
// CHECK:             scf.if
// CHECK-NEXT:          npu.vec_dup 2.500000e+00 -> %[[BUF]]
// CHECK:             npu.dma %{{.*}} [%{{.*}}, %{{.*}}, 1] [{{[0-9]+}}, %{{.*}}, 7] -> %[[BUF]] [0, %{{.*}}, 0]
// CHECK-NOT:         npu.dma %[[BUF]] {{.*}} -> %[[BUF]]
// CHECK:             npu.set_flag "MTE2" -> "MTE3" [0]
// CHECK:             npu.dma %[[BUF]]
