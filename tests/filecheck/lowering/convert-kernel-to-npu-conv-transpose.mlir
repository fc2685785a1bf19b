// RUN: env GE_CONV_TRANSPOSE=zeros ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// A 3x3 stride-2 transposed conv with runtime weights and a bias: a vector kernel writes the
// zero-inserted input into an HBM temporary (input rows DMA'd into the (.., 0, .., 0) box of a
// zeroed UB tile, stored row-major), a second one lays the weights out flipped in the cube's K
// order, and the im2col conv of the equivalent stride-1 conv (pads d * (k - 1) - p) runs on the cube.
func.func @deconv(%x: tensor<1x3x5x5xf32>, %w: tensor<3x4x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x9x9xf32> {
  %y = kernel.conv_transpose2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64, fused_from = ["ge.conv_transpose2d"]} : (tensor<1x3x5x5xf32>, tensor<3x4x3x3xf32>, tensor<4xf32>) -> tensor<1x4x9x9xf32>
  func.return %y : tensor<1x4x9x9xf32>
}

// CHECK-LABEL: func.func @deconv
// CHECK:         %[[Z:.*]] = npu.hbm_alloc : !npu.buffer<1x3x10x10xf32, hbm>
// CHECK:         %[[ZV:.*]] = npu.reshape %[[Z]] : !npu.buffer<1x3x10x10xf32, hbm> -> !npu.buffer<3x10x10xf32, hbm>
// CHECK:         npu.kernel "{{.*}}_zeros" block_dim = {{[0-9]+}}
// CHECK:           %[[BOX:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}x2x5x2xf32, ub>
// CHECK:           npu.vec_dup
// CHECK:           scf.for
// CHECK:             npu.dma %{{.*}} -> %[[BOX]]
// CHECK:             npu.dma %[[BOX]]{{.*}} -> %[[ZV]]
// CHECK:         %[[LAID:.*]] = npu.hbm_alloc : !npu.buffer<1x144x4xf32, hbm>
// CHECK:         npu.kernel "{{.*}}_weights"
// CHECK:           npu.dma %w{{.*}} {pad = 0.000000e+00 : f64}
// CHECK:           npu.vec_transpose {{.*}} perm = [2, 3, 0, 1]
// CHECK:           scf.for
// CHECK:             npu.dma {{.*}} -> %[[LAID]]
// CHECK:         npu.kernel "conv_transpose2d_0" block_dim
// CHECK:           npu.dma %[[LAID]]
// CHECK:           npu.img2col {{.*}} {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: {{.*}}>, dilations = array<i64: 1, 1>}
// CHECK:           npu.mmad
// CHECK:           npu.vec_add
// CHECK-NOT:     npu.kernel
