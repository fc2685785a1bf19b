// RUN: ge-opt %s --split-input-file -p cast-graph-to-fp16 | filecheck %s

// Every f32 tensor inside becomes f16: inputs cast on entry (a finite value beyond f16's
// range saturated to +-65504, an infinity kept), constants converted, outputs cast back to
// the function's f32 results on exit.
// CHECK-LABEL: func.func @graph
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>) -> tensor<4x4xf32>
// CHECK-NEXT: %[[ABS:.+]] = ge.abs %[[X]]
// CHECK-NEXT: %[[INF:.+]] = ge.constant dense<"0x0000807f"> : tensor<f32>
// CHECK-NEXT: %[[ISINF:.+]] = ge.equal %[[ABS]], %[[INF]]
// CHECK-NEXT: %[[SAT:.+]] = ge.clip %[[X]] {min = -6.550400e+04 : f64, max = 6.550400e+04 : f64}
// CHECK-NEXT: %[[KEPT:.+]] = ge.where %[[ISINF]], %[[X]], %[[SAT]]
// CHECK-NEXT: %[[XH:.+]] = ge.cast %[[KEPT]] {to = f16} : (tensor<4x8xf32>) -> tensor<4x8xf16>
// CHECK-NEXT: %[[W:.+]] = ge.constant dense<5.000000e-01> : tensor<8x4xf16>
// CHECK-NEXT: %[[M:.+]] = ge.matmul %[[XH]], %[[W]] : (tensor<4x8xf16>, tensor<8x4xf16>) -> tensor<4x4xf16>
// CHECK-NEXT: %[[S:.+]] = ge.sigmoid %[[M]] : (tensor<4x4xf16>) -> tensor<4x4xf16>
// CHECK-NEXT: %[[R:.+]] = ge.cast %[[S]] {to = f32} : (tensor<4x4xf16>) -> tensor<4x4xf32>
// CHECK-NEXT: func.return %[[R]]
func.func @graph(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %w = ge.constant dense<0.5> : tensor<8x4xf32>
  %m = ge.matmul %x, %w : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %s = ge.sigmoid %m : (tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %s : tensor<4x4xf32>
}

// -----

// Integer tensors keep their type; a cast to f32 of them casts to f16 instead.
// CHECK-LABEL: func.func @mixed
// CHECK-SAME: (%[[I:.+]]: tensor<4xi64>, %[[X:.+]]: tensor<4xf32>)
// CHECK: %[[F:.+]] = ge.cast %[[I]] {to = f16} : (tensor<4xi64>) -> tensor<4xf16>
// CHECK: ge.add %{{.+}}, %[[F]] : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
// CHECK: func.return %{{.+}}, %[[I]] : tensor<4xf32>, tensor<4xi64>
func.func @mixed(%i: tensor<4xi64>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi64>) {
  %f = ge.cast %i {to = f32} : (tensor<4xi64>) -> tensor<4xf32>
  %s = ge.add %x, %f : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %s, %i : tensor<4xf32>, tensor<4xi64>
}

// -----

// An f16 model is already there: nothing changes.
// CHECK-LABEL: func.func @half
// CHECK-NEXT: ge.relu %{{.+}} : (tensor<4xf16>) -> tensor<4xf16>
// CHECK-NEXT: func.return
func.func @half(%x: tensor<4xf16>) -> tensor<4xf16> {
  %r = ge.relu %x : (tensor<4xf16>) -> tensor<4xf16>
  func.return %r : tensor<4xf16>
}
