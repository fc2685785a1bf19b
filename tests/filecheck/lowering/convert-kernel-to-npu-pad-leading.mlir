// RUN: ge-opt %s -p convert-kernel-to-npu,verify-npu | filecheck %s

// A constant pad of the channel axis: one copy kernel of regions, the image into its slab of
// the output and a fill slab (an npu.hbm_constant) on each side.
func.func @pad_channels(%x: tensor<1x3x4x5xf32>) -> tensor<1x6x4x5xf32> {
  %y = kernel.pad %x {pads = array<i64: 0, 1, 0, 0, 0, 2, 0, 0>, mode = "constant", value = 1.5 : f64, fused_from = ["ge.pad"]} : (tensor<1x3x4x5xf32>) -> tensor<1x6x4x5xf32>
  func.return %y : tensor<1x6x4x5xf32>
}

// CHECK-LABEL: func.func @pad_channels
// CHECK:         %[[BEFORE:.*]] = npu.hbm_constant {{.*}} : !npu.buffer<1x1x4x5xf32, hbm>
// CHECK:         %[[AFTER:.*]] = npu.hbm_constant {{.*}} : !npu.buffer<1x2x4x5xf32, hbm>
// CHECK:         npu.kernel "pad_0" {{.*}}kind = "pad"
// CHECK:           npu.dma %x
// CHECK:           npu.dma %[[BEFORE]]
// CHECK:           npu.dma %[[AFTER]]
// CHECK-NOT:     npu.kernel
