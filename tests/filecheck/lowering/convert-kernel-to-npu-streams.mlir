// RUN: ge-opt %s -p 'ge-optimize,schedule-streams,plan-memory,convert-kernel-to-npu,verify-npu' | filecheck %s

// The npu program keeps the kernel level's streams: each launch on its kernel's stream,
// an npu.record_event after the producer another stream waits for, an npu.wait_event
// before the consumer (it lost them before: every launch on stream 0, so a lowered file
// ran its branches one after another).
// CHECK-LABEL: func.func @branches
// CHECK:         npu.kernel "elementwise_0" {{.*}}attributes {stream = 0 : i64
// CHECK:         npu.kernel "pool_1" {{.*}}attributes {stream = 0 : i64
// CHECK:         npu.kernel "elementwise_2" {{.*}}attributes {stream = 1 : i64
// CHECK:         npu.kernel "pool_3" {{.*}}attributes {stream = 1 : i64
// CHECK:         npu.record_event stream = 1 event = 0
// CHECK-NEXT:    npu.wait_event stream = 0 event = 0
// CHECK:         npu.kernel "elementwise_4" {{.*}}attributes {stream = 0 : i64
func.func @branches(%x: tensor<1x4x32x32xf32>) -> tensor<1x4x1x1xf32> {
  %t = ge.tanh %x : (tensor<1x4x32x32xf32>) -> tensor<1x4x32x32xf32>
  %a = ge.global_avg_pool %t : (tensor<1x4x32x32xf32>) -> tensor<1x4x1x1xf32>
  %r = ge.relu %x : (tensor<1x4x32x32xf32>) -> tensor<1x4x32x32xf32>
  %b = ge.global_avg_pool %r : (tensor<1x4x32x32xf32>) -> tensor<1x4x1x1xf32>
  %s = ge.add %a, %b : (tensor<1x4x1x1xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x1x1xf32>
  func.return %s : tensor<1x4x1x1xf32>
}
