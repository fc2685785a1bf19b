// RUN: ge-opt %s -p convert-ge-to-kernel --emit onnx -o %t.onnx && python -c "import onnx, sys; print(onnx.printer.to_text(onnx.load(sys.argv[1])))" %t.onnx | filecheck %s

// Each kernel is a node of the gedialects.kernel domain calling a model-local function
// whose body is the kernel in standard ONNX ops.

func.func @main(%x: tensor<2x8xf32> {ge.name = "x"}) -> (tensor<2x8xf32> {ge.name = "y"}) {
  %s = ge.softmax %x {axis = -1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %r = ge.relu %s : (tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %r : tensor<2x8xf32>
}

// CHECK:      opset_import: ["" : 21, "gedialects.kernel" : 1]
// CHECK:      main (float[2,8] x) => (float[2,8] y)
// CHECK:      [[S:[a-z_0-9]+]] = gedialects.kernel.[[F1:softmax[_0-9]*]] (x)
// CHECK-NEXT: y = gedialects.kernel.[[F2:elementwise[_0-9]*]] ([[S]])
// CHECK:      domain: "gedialects.kernel"
// CHECK:      [[F1]] (in0) => (out0)
// CHECK:      out0 = Softmax <axis: int = -1> (in0)
// CHECK:      [[F2]] (in0) => (out0)
// CHECK:      out0 = Relu (in0)
