// RUN: ge-opt %s --emit onnx -o %t.onnx && python -c "import onnx, sys; print(onnx.printer.to_text(onnx.load(sys.argv[1])))" %t.onnx | filecheck %s
// RUN: not ge-opt %s --emit onnx 2>&1 | filecheck %s --check-prefix=NO-OUT

// The exported graph keeps the model's names, turns properties into ONNX attributes and
// inputs, and constants into initializers.

func.func @main(%x: tensor<1x2x4x4xf32> {ge.name = "image"}) -> (tensor<1x2x2x2xf32> {ge.name = "pooled"}, tensor<1x8xf32> {ge.name = "flat"}) {
  %w = ge.constant dense<0.5> : tensor<2x2x1x1xf32>
  %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %r = ge.relu %c : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = ge.max_pool2d %r {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = false} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %f = ge.reshape %p {shape = array<i64: 1, 8>} : (tensor<1x2x2x2xf32>) -> tensor<1x8xf32>
  func.return %p, %f : tensor<1x2x2x2xf32>, tensor<1x8xf32>
}

// CHECK:      ir_version: 10,
// CHECK:      opset_import: ["" : 21]
// CHECK:      main (float[1,2,4,4] image) => (float[1,2,2,2] pooled, float[1,8] flat)
// CHECK-NEXT: <float[2,2,1,1] [[W:[a-z_0-9]+]] =
// CHECK:      [[C:[a-z_0-9]+]] = Conv <{{.*}}group: int = 1{{.*}}> (image, [[W]])
// CHECK-NEXT: [[R:[a-z_0-9]+]] = Relu ([[C]])
// CHECK-NEXT: pooled = MaxPool <{{.*}}kernel_shape: ints = [2, 2]{{.*}}> ([[R]])
// CHECK-NEXT: flat = Reshape (pooled, [[S:[a-z_0-9]+]])

// NO-OUT: --emit onnx needs an output file (-o out.onnx)
