// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// A core's last im2col unit in two pixel pieces (`ConvTiling.split`): 16 -> 32 channels on
// 56x56, 3x3, runs two 112-pixel units a core. A unit's K loop accumulates into its L0C
// buffer (112 pixels); the core's last one accumulates pixels [0, 64) into an L0C buffer of
// their own, flags them ready (event 12), then pixels [64, 112) into another: the first
// piece's FIX, epilogue and store run while the cube computes the second.
func.func @conv(%x: tensor<1x16x56x56xf32>, %w: tensor<32x16x3x3xf32>) -> tensor<1x32x56x56xf32> {
  %y = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]} : tensor<1x16x56x56xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x56x56xf32>
  func.return %y : tensor<1x32x56x56xf32>
}

// CHECK:      npu.kernel "conv2d_0" block_dim = 28
// CHECK:        %[[C0:.*]] = npu.alloc : !npu.buffer<112x16xf32, l0c, FRACTAL_NZ>
// CHECK-NEXT:   %[[C1:.*]] = npu.alloc : !npu.buffer<112x16xf32, l0c, FRACTAL_NZ>
// CHECK-NEXT:   %[[PA:.*]] = npu.alloc : !npu.buffer<64x16xf32, l0c, FRACTAL_NZ>
// CHECK-NEXT:   %[[PB:.*]] = npu.alloc : !npu.buffer<48x16xf32, l0c, FRACTAL_NZ>
// CHECK:        scf.for
// CHECK:          npu.wait_flag "FIX" -> "M" [1]
// CHECK:          npu.mmad {{.*}} -> %[[C1]] [112, 16, 48]
// CHECK:          npu.mmad {{.*}} -> %[[PA]] [64, 16, 48]
// CHECK:          npu.set_flag "M" -> "FIX" [12]
// CHECK:          npu.mmad {{.*}} -> %[[PB]] [48, 16, 48]
// CHECK:          npu.set_flag "M" -> "FIX" [1]
// CHECK:          npu.wait_flag "M" -> "FIX" [12]
// CHECK-NEXT:     npu.dma %[[PA]] [0, 0] [32, 16]
// CHECK:          npu.wait_flag "M" -> "FIX" [1]
// CHECK:          npu.dma %[[C1]] [0, 0] [32, 16]
// CHECK:          npu.dma %[[PB]] [0, 0] [32, 16]
// CHECK:          npu.set_flag "FIX" -> "M" [1]
// CHECK:          npu.wait_flag "FIX" -> "M" [0]
// CHECK:          npu.mmad {{.*}} -> %[[C0]] [112, 16, 48]
// CHECK:          npu.mmad {{.*}} -> %[[PA]] [64, 16, 48]
