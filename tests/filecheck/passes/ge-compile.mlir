// RUN: ge-opt %s -p ge-compile,verify-npu | filecheck %s
// RUN: ge-opt %s -p 'ge-compile{target="ascend910b1" reuse=false}' | filecheck %s --check-prefix=B1

// DESIGN.md's named default pipeline: the whole compile as ge-run's npu level runs it
// (ge-optimize, select-implementations, split-pointwise-convs, schedule-streams,
// plan-memory, convert-kernel-to-npu): the conv and its relu become one npu.kernel of the
// chosen algorithm, on a stream, writing its planned HBM buffer.
// CHECK-LABEL: func.func @net(%x: !npu.buffer<1x4x8x8xf32, hbm> {mem.offset = {{[0-9]+}} : i64})
// CHECK:         npu.hbm_constant elided<"sha256:{{[0-9a-f]+}}"> : !npu.buffer<8x4x3x3xf32, hbm>
// CHECK:         %r = npu.hbm_alloc {offset = {{[0-9]+}} : i64} : !npu.buffer<1x8x8x8xf32, hbm>
// CHECK:         npu.kernel "conv2d_0" block_dim = {{[0-9]+}} attributes {stream = 0 : i64, fused_from = ["ge.conv2d", "ge.relu"], kind = "conv2d", algorithm = "{{[a-z0-9_]+}}"}
// CHECK:         func.return %r

// B1-LABEL: func.func @net
// B1:         npu.kernel "conv2d_0"
func.func @net(%x: tensor<1x4x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = ge.constant dense<0.5> : tensor<8x4x3x3xf32>
  %c = ge.conv2d %x, %w {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x8x8xf32>
  %r = ge.relu %c : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  func.return %r : tensor<1x8x8x8xf32>
}
