// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// A 3x3, stride 2, padded conv with bias and relu: the image goes NCHW -> UB -> NC1HWC0 -> L1,
// weights into L1 in the img2col K order, img2col + mmad per K step, then FIX, a transpose to
// (channels, pixels), the epilogue on the vector unit and MTE3 into the NCHW output view.
func.func @conv(%x: tensor<1x20x9x9xf32>, %w: tensor<24x20x3x3xf32>, %b: tensor<24xf32>) -> tensor<1x24x5x5xf32> {
  %y = kernel.conv2d %x, %w bias %b : tensor<24xf32> {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x20x9x9xf32>, tensor<24x20x3x3xf32> -> tensor<1x24x5x5xf32>
  func.return %y : tensor<1x24x5x5xf32>
}

// CHECK:      func.func @conv(%x: !npu.buffer<1x20x9x9xf32, hbm>, %w: !npu.buffer<24x20x3x3xf32, hbm>, %b: !npu.buffer<24xf32, hbm>) -> !npu.buffer<1x24x5x5xf32, hbm>
// CHECK:        %[[OUT:.*]] = npu.hbm_alloc : !npu.buffer<1x24x5x5xf32, hbm>
// CHECK:        %[[VIEW:.*]] = npu.reshape %[[OUT]] : !npu.buffer<1x24x5x5xf32, hbm> -> !npu.buffer<1x24x25xf32, hbm>
// CHECK:        %[[BIAS:.*]] = npu.reshape %b : !npu.buffer<24xf32, hbm> -> !npu.buffer<24x1xf32, hbm>
// CHECK:        npu.kernel "conv2d_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "conv2d"}
// CHECK-DAG:      %[[IMG:.*]] = npu.alloc : !npu.buffer<1x2x9x9x16xf32, l1, NC1HWC0>
// CHECK-DAG:      %[[WL1:.*]] = npu.alloc : !npu.buffer<288x{{[0-9]+}}xf32, l1, FRACTAL_Z>
// CHECK-DAG:      %[[ND:.*]] = npu.alloc : !npu.buffer<1x20x{{[0-9]+}}x9xf32, ub>
// CHECK-DAG:      %[[FIVE:.*]] = npu.alloc : !npu.buffer<1x2x{{[0-9]+}}x9x16xf32, ub, NC1HWC0>
// CHECK:          scf.for
// CHECK:            scf.for
// CHECK:              npu.dma %x{{.*}} -> %[[ND]]
// CHECK:              npu.trans_data %[[ND]] -> %[[FIVE]]
// CHECK:              npu.dma %[[FIVE]]{{.*}} -> %[[IMG]]
// CHECK:            scf.for
// CHECK:              npu.dma %w{{.*}} {pad = 0.000000e+00 : f64}
// CHECK:              npu.vec_transpose {{.*}} perm = [2, 3, 1, 0]
// CHECK:              npu.dma {{.*}} -> %[[WL1]]
// CHECK:              npu.dma %w{{.*}} {pad = 0.000000e+00 : f64}
// CHECK:              scf.for
// CHECK:                npu.img2col %[[IMG]]{{.*}} {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
// CHECK:                npu.dma %[[WL1]]
// CHECK:                npu.mmad
// CHECK:              npu.dma {{.*}} : !npu.buffer<{{.*}}, l0c, FRACTAL_NZ> -> !npu.buffer<{{.*}}, ub>
// CHECK:              npu.vec_transpose {{.*}} perm = [1, 0]
// CHECK:              npu.dma %[[BIAS]]
// CHECK:              npu.vec_add
// CHECK:              npu.vec_relu
// CHECK:              npu.dma {{.*}} -> %[[VIEW]]
