// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// A 3x3 stride-2 max pool: planes (N*C, H, W) views, ping/pong bands of padded input rows in UB
// (left pad columns filled with -inf once, top rows on tiles above the image, bottom and right
// by the DMA's pad), one strided vec_window per tap, the output tile stored by MTE3. The loop
// is software-pipelined: load ping, compute/store pong (loaded the iteration before), load
// pong, compute/store ping.
func.func @max_pool(%x: tensor<1x16x12x12xf32>) -> tensor<1x16x6x6xf32> {
  %y = kernel.pool %x {kind = "max", kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64, fused_from = ["ge.max_pool2d"]} : (tensor<1x16x12x12xf32>) -> tensor<1x16x6x6xf32>
  func.return %y : tensor<1x16x6x6xf32>
}

// CHECK-LABEL: func.func @max_pool
// CHECK:         %[[Y:.*]] = npu.hbm_alloc : !npu.buffer<1x16x6x6xf32, hbm>
// CHECK:         %[[IN:.*]] = npu.reshape %x : !npu.buffer<1x16x12x12xf32, hbm> -> !npu.buffer<16x12x12xf32, hbm>
// CHECK:         %[[OUT:.*]] = npu.reshape %[[Y]] : !npu.buffer<1x16x6x6xf32, hbm> -> !npu.buffer<16x6x6xf32, hbm>
// CHECK:         npu.kernel "pool_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "pool"}
// CHECK:           %[[BAND:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}x13xf32, ub>
// CHECK:           %[[ACC:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}x6xf32, ub>
// CHECK:           npu.vec_dup 0xfff0000000000000 -> %[[BAND]]
// CHECK:           %[[BAND1:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}x13xf32, ub>
// CHECK:           %[[ACC1:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}x6xf32, ub>
// CHECK:           scf.for
// CHECK:             scf.if
// CHECK:               npu.wait_flag "V" -> "MTE2" [0]
// CHECK:               scf.if
// CHECK-NEXT:            npu.vec_dup 0xfff0000000000000 -> %[[BAND]]
// CHECK:               npu.dma %[[IN]] {{.*}} -> %[[BAND]] [0, %{{.*}}, 1] {{.*}} {pad = 0xfff0000000000000 : f64}
// CHECK:               npu.set_flag "MTE2" -> "V" [0]
// CHECK:             scf.if
// CHECK:               scf.if
// CHECK:                 npu.wait_flag "MTE2" -> "V" [1]
// CHECK:                 npu.vec_window "copy" %[[BAND1]] [0, 0, 0] step [1, 2, 2] -> %[[ACC1]]
// CHECK-COUNT-8:         npu.vec_window "max" %[[BAND1]]
// CHECK:                 npu.dma %[[ACC1]] {{.*}} -> %[[OUT]]
// CHECK:             scf.if
// CHECK:               npu.dma %[[IN]] {{.*}} -> %[[BAND1]]
// CHECK:             scf.if
// CHECK:               npu.wait_flag "MTE2" -> "V" [0]
// CHECK:               npu.vec_window "copy" %[[BAND]] [0, 0, 0] step [1, 2, 2] -> %[[ACC]]
// CHECK-COUNT-8:       npu.vec_window "max" %[[BAND]]
// CHECK:               npu.set_flag "V" -> "MTE3" [0]
// CHECK:               npu.dma %[[ACC]] {{.*}} -> %[[OUT]]
// CHECK:               npu.set_flag "MTE3" -> "V" [0]
// CHECK:           npu.wait_flag "MTE3" -> "V" [1]

// -----

// An average whose window counts differ at the borders (count_include_pad = 0): the reciprocal
// counts are an HBM constant, loaded per tile beside the band and multiplied in after the taps.
func.func @avg_pool(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %y = kernel.pool %x {kind = "avg", kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64, fused_from = ["ge.avg_pool2d"]} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}

// CHECK-LABEL: func.func @avg_pool
// CHECK:         %[[RECIP:.*]] = npu.hbm_constant dense<{{.*}}> : tensor<4x4xf32> : !npu.buffer<4x4xf32, hbm>
// CHECK:         npu.kernel "pool_0"
// CHECK:           %[[BAND:.*]] = npu.alloc : !npu.buffer<{{.*}}xf32, ub>
// CHECK:           %[[ACC:.*]] = npu.alloc : !npu.buffer<{{.*}}x4xf32, ub>
// CHECK:           %[[R:.*]] = npu.alloc : !npu.buffer<{{[0-9]+}}x4xf32, ub>
// CHECK:           npu.vec_dup 0.000000e+00 -> %[[BAND]]
// CHECK:           scf.for
// CHECK:             npu.dma %{{.*}} {pad = 0.000000e+00 : f64}
// CHECK:             npu.dma %[[RECIP]] {{.*}} -> %[[R]]
// CHECK:             npu.vec_window "copy" %[[BAND]]
// CHECK-COUNT-8:     npu.vec_window "add" %[[BAND]]
// CHECK:             npu.vec_mul %[[ACC]], %[[R]] -> %[[ACC]]
// CHECK:             npu.dma %[[ACC]]

// -----

// count_include_pad without ceil overhang: one divisor, a scalar multiply.
func.func @avg_uniform(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %y = kernel.pool %x {kind = "avg", kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 1 : i64, fused_from = ["ge.avg_pool2d"]} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}

// CHECK-LABEL: func.func @avg_uniform
// CHECK-NOT:     npu.hbm_constant
// CHECK:         npu.kernel "pool_0"
// CHECK:           npu.vec_muls {{.*}}, 0.1111{{[0-9]*}}
