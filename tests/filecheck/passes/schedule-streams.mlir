// RUN: ge-opt %s -p schedule-streams,plan-memory | filecheck %s

// Two independent branches of one input run on two streams; the join waits for the
// other stream's event only; the branches' big buffers never share bytes although, in
// op order, the first branch is dead before the second starts (test_schedule_streams.py
// checks the offsets differ).
// CHECK-LABEL: func.func @branches
// CHECK-SAME:    stream.count = 2 : i64, stream.events = 1 : i64
// CHECK:         ge.tanh %{{.*}} {stream.id = 0 : i64, mem.offset = array<i64: [[T:[0-9]+]]>}
// CHECK:         ge.global_avg_pool {{.*}}{stream.id = 0 : i64, mem.offset
// CHECK:         ge.relu %{{.*}} {stream.id = 1 : i64, mem.offset = array<i64: [[R:[0-9]+]]>}
// CHECK:         ge.global_avg_pool {{.*}}{stream.id = 1 : i64, stream.record = array<i64: 0>, mem.offset
// CHECK:         ge.add {{.*}}{stream.id = 0 : i64, stream.wait = array<i64: 0>, mem.offset
func.func @branches(%x: tensor<1x4x32x32xf32>) -> tensor<1x4x1x1xf32> {
  %t = ge.tanh %x : (tensor<1x4x32x32xf32>) -> tensor<1x4x32x32xf32>
  %a = ge.global_avg_pool %t : (tensor<1x4x32x32xf32>) -> tensor<1x4x1x1xf32>
  %r = ge.relu %x : (tensor<1x4x32x32xf32>) -> tensor<1x4x32x32xf32>
  %b = ge.global_avg_pool %r : (tensor<1x4x32x32xf32>) -> tensor<1x4x1x1xf32>
  %s = ge.add %a, %b : (tensor<1x4x1x1xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x1x1xf32>
  func.return %s : tensor<1x4x1x1xf32>
}
