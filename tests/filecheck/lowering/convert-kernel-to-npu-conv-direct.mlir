// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// A depthwise 3x3, stride 2, padded conv with bias and relu by the direct algorithm: one
// vector-unit kernel. Per item (image, 16 channels, band of output rows) the band's input rows
// with their halo go HBM -> UB at the padding offsets, trans_data makes the channels the lanes
// (NC1HWC0), and each tap is one vec_window_mla of the strided window by the tap's per-lane
// weights into an f32 accumulator; the bias and relu run on the lanes, trans_data goes back to
// NCHW and MTE3 stores the band. Ping/pong buffers, software pipelined: each loop body loads a
// unit into one set before it computes and stores the previous unit from the other set.
func.func @depthwise(%x: tensor<1x16x9x9xf32>, %w: tensor<16x1x3x3xf32>, %b: tensor<16xf32>) -> tensor<1x16x5x5xf32> {
  %y = kernel.conv2d %x, %w bias %b : tensor<16xf32> {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 16 : i64, algorithm = "direct", activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]} : tensor<1x16x9x9xf32>, tensor<16x1x3x3xf32> -> tensor<1x16x5x5xf32>
  func.return %y : tensor<1x16x5x5xf32>
}

// CHECK-LABEL: func.func @depthwise
// CHECK:        %[[OUT:.*]] = npu.hbm_alloc : !npu.buffer<1x16x5x5xf32, hbm>
// CHECK:        npu.kernel "conv2d_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "conv2d", algorithm = "direct"}
// CHECK:          %[[ND:.*]] = npu.alloc : !npu.buffer<1x16x[[ROWS:[0-9]+]]x11xf32, ub>
// CHECK:          %[[BAND:.*]] = npu.alloc : !npu.buffer<1x1x[[ROWS]]x11x16xf32, ub, NC1HWC0>
// CHECK:          %[[WND:.*]] = npu.alloc : !npu.buffer<16x9xf32, ub>
// CHECK:          %[[WT:.*]] = npu.alloc : !npu.buffer<9x16xf32, ub>
// CHECK:          %[[ACC:.*]] = npu.alloc : !npu.buffer<1x1x[[BH:[0-9]+]]x5x16xf32, ub, NC1HWC0>
// CHECK:          %[[OND:.*]] = npu.alloc : !npu.buffer<1x16x[[BH]]x5xf32, ub>
// CHECK:          npu.vec_dup 0.000000e+00 -> %[[ND]]
// CHECK:          scf.for
// CHECK:            scf.if
// CHECK:              npu.wait_flag "V" -> "MTE2" [0]
// CHECK-NEXT:         npu.dma %w{{.*}} -> %[[WND]]
// CHECK:              scf.if
// CHECK:                npu.dma %x{{.*}} -> %[[ND]] [0, 0, %{{.*}}, 1]
// CHECK:              npu.dma %b
// CHECK-NEXT:         npu.set_flag "MTE2" -> "V" [0]
// CHECK:            scf.if
// CHECK:              npu.wait_flag "MTE2" -> "V" [1]
// CHECK-COUNT-9:      npu.vec_window_mla
// CHECK:              npu.dma {{.*}} -> %[[OUT]]
// CHECK:            scf.if
// CHECK:              npu.wait_flag "V" -> "MTE2" [1]
// CHECK:              npu.set_flag "MTE2" -> "V" [1]
// CHECK:            scf.if
// CHECK:              npu.wait_flag "MTE2" -> "V" [0]
// CHECK-NEXT:         npu.vec_transpose %[[WND]] -> %[[WT]] perm = [1, 0]
// CHECK-NEXT:         npu.trans_data %[[ND]] -> %[[BAND]]
// CHECK:              scf.if
// CHECK-NEXT:           npu.vec_dup 0.000000e+00 -> %[[ND]]
// CHECK:              npu.vec_dup 0.000000e+00 -> %[[ACC]]
// CHECK-NEXT:         npu.vec_window_mla %[[BAND]] [0, 0, 0, 0, 0] step [1, 1, 2, 2, 1], %[[WT]] row 0 -> %[[ACC]]
// CHECK-COUNT-7:      npu.vec_window_mla %[[BAND]]
// CHECK-NEXT:         npu.vec_window_mla %[[BAND]] [0, 0, 2, 2, 0] step [1, 1, 2, 2, 1], %[[WT]] row 8 -> %[[ACC]]
// CHECK-NEXT:         npu.vec_add %[[ACC]], %{{.*}} -> %[[ACC]]
// CHECK-NEXT:         npu.vec_relu %[[ACC]] -> %[[ACC]]
// CHECK-NEXT:         npu.wait_flag "MTE3" -> "V" [0]
// CHECK-NEXT:         npu.trans_data %[[ACC]] -> %[[OND]]
// CHECK:              npu.wait_flag "V" -> "MTE3" [0]
// CHECK-NEXT:         npu.dma %[[OND]]{{.*}} -> %[[OUT]]
// CHECK-NOT:    npu.mmad
// CHECK-NOT:    npu.img2col
// CHECK:        func.return %[[OUT]]
