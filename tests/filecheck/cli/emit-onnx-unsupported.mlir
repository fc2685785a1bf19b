// RUN: not ge-opt %s --emit onnx -o %t.onnx 2>&1 | filecheck %s

// An op without an ONNX form is named in one line, and no model is written.

func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %x, %x : tensor<4xf32>
  func.return %0 : tensor<4xf32>
}

// CHECK: ge-opt: 'arith.addf' has no ONNX form yet; the exporter handles the ge and kernel dialects
// CHECK-NOT: Traceback
