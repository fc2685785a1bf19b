// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// A layer norm with both casts folded (f16 in, f16 out, f32 inside): each pipeline set has
// f32 tiles and f16 staging tiles; the vector unit converts the loaded f16 tile before the
// statistics and the f32 result before the store, which reads the f16 tile.
// CHECK-LABEL: func.func @layer_norm_f16_io
// CHECK: npu.kernel "layer_norm_0"
// CHECK: %[[X:[0-9]+]] = npu.alloc : !npu.buffer<1x768xf32, ub>
// CHECK: %[[IN:[0-9]+]] = npu.alloc : !npu.buffer<1x768xf16, ub>
// CHECK: npu.dma %x {{.*}} -> %[[IN]] {{.*}} : !npu.buffer<128x768xf16, hbm> -> !npu.buffer<1x768xf16, ub>
// CHECK: npu.vec_cast %{{.+}} -> %{{.+}} : !npu.buffer<1x768xf16, ub> -> !npu.buffer<1x768xf32, ub>
// CHECK-NEXT: npu.vec_reduce_sum
// CHECK: npu.vec_add
// CHECK: npu.vec_cast %{{.+}} -> %{{.+}} : !npu.buffer<1x768xf32, ub> -> !npu.buffer<1x768xf16, ub>
// CHECK: npu.dma %{{.+}} -> %y {{.*}} : !npu.buffer<1x768xf16, ub> -> !npu.buffer<128x768xf16, hbm>
func.func @layer_norm_f16_io(%x: tensor<128x768xf16>, %s: tensor<768xf32>, %b: tensor<768xf32>) -> tensor<128x768xf16> {
  %y = kernel.layer_norm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-05 : f64, cast_to = f16, fused_from = ["ge.layer_norm", "ge.cast"]} : (tensor<128x768xf16>, tensor<768xf32>, tensor<768xf32>) -> tensor<128x768xf16>
  func.return %y : tensor<128x768xf16>
}

// -----

// A softmax writing f16 from f32 (row kernel): computes in f32, vec_cast before the store.
// CHECK-LABEL: func.func @softmax_to_f16
// CHECK: npu.dma %x {{.*}} : !npu.buffer<64x100xf32, hbm> -> !npu.buffer<{{.+}}x100xf32, ub>
// CHECK: npu.vec_div
// CHECK-NEXT: npu.vec_cast %{{.+}} -> %[[Y:[0-9]+]] : !npu.buffer<{{.+}}x100xf32, ub> -> !npu.buffer<{{.+}}x100xf16, ub>
// CHECK: npu.dma %[[Y]] {{.*}} -> %y {{.*}} -> !npu.buffer<64x100xf16, hbm>
func.func @softmax_to_f16(%x: tensor<64x100xf32>) -> tensor<64x100xf16> {
  %y = kernel.softmax %x {axis = -1 : i64, scale = 1.0 : f64, cast_to = f16, fused_from = ["ge.softmax", "ge.cast"]} : (tensor<64x100xf32>) -> tensor<64x100xf16>
  func.return %y : tensor<64x100xf16>
}

// -----

// ResNet's global pool in f16 (both casts folded): f16 views of input and output, the
// loaded rows converted to f32, the mean converted back before its store.
// CHECK-LABEL: func.func @global_avg_f16
// CHECK: npu.reshape %x : !npu.buffer<1x2048x7x7xf16, hbm> -> !npu.buffer<2048x49xf16, hbm>
// CHECK: npu.reshape %{{.+}} : !npu.buffer<1x2048x1x1xf16, hbm> -> !npu.buffer<2048x1xf16, hbm>
// CHECK: npu.vec_cast %{{.+}} -> %{{.+}} : !npu.buffer<{{.+}}x49xf16, ub> -> !npu.buffer<{{.+}}x49xf32, ub>
// CHECK-NEXT: npu.vec_reduce_sum
// CHECK-NEXT: npu.vec_muls
// CHECK-NEXT: npu.vec_cast %{{.+}} -> %{{.+}} : !npu.buffer<{{.+}}x1xf32, ub> -> !npu.buffer<{{.+}}x1xf16, ub>
func.func @global_avg_f16(%x: tensor<1x2048x7x7xf16>) -> tensor<1x2048x1x1xf16> {
  %y = kernel.pool %x {kind = "global_avg", cast_to = f16, fused_from = ["ge.cast", "ge.global_avg_pool", "ge.cast"]} : (tensor<1x2048x7x7xf16>) -> tensor<1x2048x1x1xf16>
  func.return %y : tensor<1x2048x1x1xf16>
}

// -----

// An average window pool from f16 to f32: the padded load fills an f16 band, converted
// before the taps; the f32 result is stored as is.
// CHECK-LABEL: func.func @avg_pool_to_f32
// CHECK: npu.dma %{{.+}} -> %[[BAND:[0-9]+]] {{.*}} : !npu.buffer<8x16x16xf16, hbm> -> !npu.buffer<{{.+}}xf16, ub>
// CHECK: npu.vec_cast %[[BAND]] -> %{{.+}} : !npu.buffer<{{.+}}xf16, ub> -> !npu.buffer<{{.+}}xf32, ub>
// CHECK-NEXT: npu.vec_window
// CHECK-NOT: npu.vec_cast
// CHECK: npu.dma %{{.+}} : !npu.buffer<{{.+}}xf32, ub> -> !npu.buffer<8x8x8xf32, hbm>
func.func @avg_pool_to_f32(%x: tensor<2x4x16x16xf16>) -> tensor<2x4x8x8xf32> {
  %y = kernel.pool %x {kind = "avg", kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = false, count_include_pad = false, cast_to = f32, fused_from = ["ge.cast", "ge.average_pool"]} : (tensor<2x4x16x16xf16>) -> tensor<2x4x8x8xf32>
  func.return %y : tensor<2x4x8x8xf32>
}
