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

// -----

// A quantized matmul's integer arithmetic stays f32 (`passes.integer_values`): the centred
// integers, the accumulation (an f16 sum would round past 2,048 and overflow past 65504)
// and the requantize to the next cast to an integer type. A dequantizing multiply computes
// in f32 and hands its float result to the rest of the graph in f16.
// CHECK-LABEL: func.func @qmatmul
// CHECK-NEXT: %[[QF:.+]] = ge.cast %{{.+}} {to = f32} : (tensor<4x8xui8>) -> tensor<4x8xf32>
// CHECK-NEXT: %[[ZP:.+]] = ge.constant dense<1.280000e+02> : tensor<f32>
// CHECK-NEXT: %[[C:.+]] = ge.sub %[[QF]], %[[ZP]] : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
// CHECK-NEXT: %[[W:.+]] = ge.constant dense<-1.270000e+02> : tensor<8x4xf32>
// CHECK-NEXT: %[[ACC:.+]] = ge.matmul %[[C]], %[[W]] : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
// CHECK-NEXT: %[[M:.+]] = ge.constant dense<4.000000e-04> : tensor<f32>
// CHECK-NEXT: %[[R:.+]] = ge.mul %[[ACC]], %[[M]] : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
// CHECK-NEXT: %[[RR:.+]] = ge.round %[[R]] : (tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK-NEXT: %[[RZ:.+]] = ge.add %[[RR]], %[[ZP]] : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
// CHECK-NEXT: %[[CL:.+]] = ge.clip %[[RZ]] {{.+}} : (tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK-NEXT: %[[Y:.+]] = ge.cast %[[CL]] {to = ui8} : (tensor<4x4xf32>) -> tensor<4x4xui8>
// CHECK-NEXT: %[[S:.+]] = ge.constant dense<1.000000e-02> : tensor<f32>
// CHECK-NEXT: %[[D:.+]] = ge.mul %[[ACC]], %[[S]] : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
// CHECK-NEXT: %[[DH:.+]] = ge.cast %[[D]] {to = f16} : (tensor<4x4xf32>) -> tensor<4x4xf16>
// CHECK-NEXT: %[[T:.+]] = ge.tanh %[[DH]] : (tensor<4x4xf16>) -> tensor<4x4xf16>
// CHECK-NEXT: %[[TF:.+]] = ge.cast %[[T]] {to = f32} : (tensor<4x4xf16>) -> tensor<4x4xf32>
// CHECK-NEXT: func.return %[[Y]], %[[TF]] : tensor<4x4xui8>, tensor<4x4xf32>
func.func @qmatmul(%q: tensor<4x8xui8>) -> (tensor<4x4xui8>, tensor<4x4xf32>) {
  %qf = ge.cast %q {to = f32} : (tensor<4x8xui8>) -> tensor<4x8xf32>
  %zp = ge.constant dense<128.0> : tensor<f32>
  %c = ge.sub %qf, %zp : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %w = ge.constant dense<-127.0> : tensor<8x4xf32>
  %acc = ge.matmul %c, %w : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %m = ge.constant dense<0.0004> : tensor<f32>
  %r = ge.mul %acc, %m : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %rr = ge.round %r : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %rz = ge.add %rr, %zp : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %cl = ge.clip %rz {min = 0.0 : f64, max = 255.0 : f64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %y = ge.cast %cl {to = ui8} : (tensor<4x4xf32>) -> tensor<4x4xui8>
  %s = ge.constant dense<0.01> : tensor<f32>
  %d = ge.mul %acc, %s : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %t = ge.tanh %d : (tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %y, %t : tensor<4x4xui8>, tensor<4x4xf32>
}
