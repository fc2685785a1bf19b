// RUN: ge-opt %s --split-input-file -p recognize-group-norm | filecheck %s

// nn.GroupNorm(4, 8) as torch.onnx.export writes it below opset 18: Reshape to (N, G, -1),
// InstanceNormalization with unit scale and zero bias, Reshape back, Mul and Add by the
// (C, 1, 1) weight and bias. The constant weight and bias become (C,) constants.
// CHECK-LABEL: func.func @torch_export
// CHECK:         %[[S:.+]] = ge.constant dense<[5.000000e-01, 1.500000e+00, 2.000000e+00, -1.000000e+00, 2.500000e-01, 1.000000e+00, 3.000000e+00, -5.000000e-01]> : tensor<8xf32>
// CHECK-NEXT:    %[[B:.+]] = ge.constant dense<[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01, 5.000000e-01, 6.000000e-01, 7.000000e-01, 8.000000e-01]> : tensor<8xf32>
// CHECK-NEXT:    %[[Y:.+]] = ge.group_norm %x, %[[S]], %[[B]] {epsilon = 1.000000e-05 : f64, num_groups = 4 : i64} : (tensor<2x8x5x5xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8x5x5xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @torch_export(%x: tensor<2x8x5x5xf32>) -> tensor<2x8x5x5xf32> {
  %ones = ge.constant dense<1.0> : tensor<4xf32>
  %zeros = ge.constant dense<0.0> : tensor<4xf32>
  %w = ge.constant dense<[[[0.5]], [[1.5]], [[2.0]], [[-1.0]], [[0.25]], [[1.0]], [[3.0]], [[-0.5]]]> : tensor<8x1x1xf32>
  %b = ge.constant dense<[[[0.1]], [[0.2]], [[0.3]], [[0.4]], [[0.5]], [[0.6]], [[0.7]], [[0.8]]]> : tensor<8x1x1xf32>
  %g = ge.reshape %x {shape = array<i64: 2, 4, 50>} : (tensor<2x8x5x5xf32>) -> tensor<2x4x50xf32>
  %n = ge.instance_norm %g, %ones, %zeros {epsilon = 1.0e-05 : f64} : (tensor<2x4x50xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x50xf32>
  %r = ge.reshape %n {shape = array<i64: 2, 8, 5, 5>} : (tensor<2x4x50xf32>) -> tensor<2x8x5x5xf32>
  %m = ge.mul %r, %w : (tensor<2x8x5x5xf32>, tensor<8x1x1xf32>) -> tensor<2x8x5x5xf32>
  %a = ge.add %m, %b : (tensor<2x8x5x5xf32>, tensor<8x1x1xf32>) -> tensor<2x8x5x5xf32>
  func.return %a : tensor<2x8x5x5xf32>
}

// -----

// No affine (GroupNorm(affine=False)); the groups keep their spatial axes, (N, G, C/G, H, W).
// CHECK-LABEL: func.func @no_affine
// CHECK:         %[[Y:.+]] = ge.group_norm %x, %{{.+}}, %{{.+}} {epsilon = 1.000000e-03 : f64, num_groups = 2 : i64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @no_affine(%x: tensor<1x6x3x4xf32>) -> tensor<1x6x3x4xf32> {
  %ones = ge.constant dense<1.0> : tensor<2xf32>
  %zeros = ge.constant dense<0.0> : tensor<2xf32>
  %g = ge.reshape %x {shape = array<i64: 1, 2, 3, 3, 4>} : (tensor<1x6x3x4xf32>) -> tensor<1x2x3x3x4xf32>
  %n = ge.instance_norm %g, %ones, %zeros {epsilon = 1.0e-03 : f64} : (tensor<1x2x3x3x4xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3x4xf32>
  %r = ge.reshape %n {shape = array<i64: 1, 6, 3, 4>} : (tensor<1x2x3x3x4xf32>) -> tensor<1x6x3x4xf32>
  func.return %r : tensor<1x6x3x4xf32>
}

// -----

// Weights given as graph inputs (a model exported with its parameters as inputs): viewed
// as (C,) vectors.
// CHECK-LABEL: func.func @runtime_weights
// CHECK-NEXT:    %[[S:.+]] = ge.reshape %w {shape = array<i64: 4>} : (tensor<4x1xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[B:.+]] = ge.reshape %b {shape = array<i64: 4>} : (tensor<1x4x1xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[Y:.+]] = ge.group_norm %x, %[[S]], %[[B]] {epsilon = 1.000000e-05 : f64, num_groups = 2 : i64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @runtime_weights(%x: tensor<3x4x7xf32>, %w: tensor<4x1xf32>, %b: tensor<1x4x1xf32>) -> tensor<3x4x7xf32> {
  %ones = ge.constant dense<1.0> : tensor<2xf32>
  %zeros = ge.constant dense<0.0> : tensor<2xf32>
  %g = ge.reshape %x {shape = array<i64: 3, 2, 14>} : (tensor<3x4x7xf32>) -> tensor<3x2x14xf32>
  %n = ge.instance_norm %g, %ones, %zeros {epsilon = 1.0e-05 : f64} : (tensor<3x2x14xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2x14xf32>
  %r = ge.reshape %n {shape = array<i64: 3, 4, 7>} : (tensor<3x2x14xf32>) -> tensor<3x4x7xf32>
  %m = ge.mul %w, %r : (tensor<4x1xf32>, tensor<3x4x7xf32>) -> tensor<3x4x7xf32>
  %a = ge.add %m, %b : (tensor<3x4x7xf32>, tensor<1x4x1xf32>) -> tensor<3x4x7xf32>
  func.return %a : tensor<3x4x7xf32>
}

// -----

// A factor that varies per pixel is not an affine: the norm is recognized, the mul stays.
// CHECK-LABEL: func.func @per_pixel_factor
// CHECK:         %[[N:.+]] = ge.group_norm %x
// CHECK-NEXT:    %[[M:.+]] = ge.mul %[[N]], %f
// CHECK-NEXT:    func.return %[[M]]
func.func @per_pixel_factor(%x: tensor<1x4x2x2xf32>, %f: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
  %ones = ge.constant dense<1.0> : tensor<2xf32>
  %zeros = ge.constant dense<0.0> : tensor<2xf32>
  %g = ge.reshape %x {shape = array<i64: 1, 2, 8>} : (tensor<1x4x2x2xf32>) -> tensor<1x2x8xf32>
  %n = ge.instance_norm %g, %ones, %zeros {epsilon = 1.0e-05 : f64} : (tensor<1x2x8xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x8xf32>
  %r = ge.reshape %n {shape = array<i64: 1, 4, 2, 2>} : (tensor<1x2x8xf32>) -> tensor<1x4x2x2xf32>
  %m = ge.mul %r, %f : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  func.return %m : tensor<1x4x2x2xf32>
}

// -----

// A Conv1d's GroupNorm: the importer runs the conv in 4-D and `simplify` merged its view
// back to 3-D into the grouping reshape, so the chain reshapes a 4-D value; the group norm
// runs on a view of it in the chain's (N, C, T) layout.
// CHECK-LABEL: func.func @source_of_another_shape
// CHECK:         %[[V:.+]] = ge.reshape %x {shape = array<i64: 1, 8, 10>} : (tensor<1x8x10x1xf32>) -> tensor<1x8x10xf32>
// CHECK-NEXT:    %[[Y:.+]] = ge.group_norm %[[V]], %{{.+}}, %{{.+}} {epsilon = 1.000000e-05 : f64, num_groups = 4 : i64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @source_of_another_shape(%x: tensor<1x8x10x1xf32>) -> tensor<1x8x10xf32> {
  %ones = ge.constant dense<1.0> : tensor<4xf32>
  %zeros = ge.constant dense<0.0> : tensor<4xf32>
  %g = ge.reshape %x {shape = array<i64: 1, 4, 20>} : (tensor<1x8x10x1xf32>) -> tensor<1x4x20xf32>
  %n = ge.instance_norm %g, %ones, %zeros {epsilon = 1.0e-05 : f64} : (tensor<1x4x20xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x20xf32>
  %r = ge.reshape %n {shape = array<i64: 1, 8, 10>} : (tensor<1x4x20xf32>) -> tensor<1x8x10xf32>
  func.return %r : tensor<1x8x10xf32>
}

// -----

// GroupNorm on (N, C): the op runs on (N, C, 1) and is viewed back.
// CHECK-LABEL: func.func @rank_two
// CHECK:         %[[V:.+]] = ge.reshape %x {shape = array<i64: 3, 6, 1>}
// CHECK-NEXT:    %[[N:.+]] = ge.group_norm %[[V]], %{{.+}}, %{{.+}} {epsilon = 1.000000e-05 : f64, num_groups = 2 : i64} : (tensor<3x6x1xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<3x6x1xf32>
// CHECK-NEXT:    %[[Y:.+]] = ge.reshape %[[N]] {shape = array<i64: 3, 6>}
// CHECK-NEXT:    func.return %[[Y]]
func.func @rank_two(%x: tensor<3x6xf32>) -> tensor<3x6xf32> {
  %ones = ge.constant dense<1.0> : tensor<2xf32>
  %zeros = ge.constant dense<0.0> : tensor<2xf32>
  %w = ge.constant dense<[0.5, 1.5, 2.0, -1.0, 0.25, 1.0]> : tensor<6xf32>
  %g = ge.reshape %x {shape = array<i64: 3, 2, 3>} : (tensor<3x6xf32>) -> tensor<3x2x3xf32>
  %n = ge.instance_norm %g, %ones, %zeros {epsilon = 1.0e-05 : f64} : (tensor<3x2x3xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2x3xf32>
  %r = ge.reshape %n {shape = array<i64: 3, 6>} : (tensor<3x2x3xf32>) -> tensor<3x6xf32>
  %m = ge.mul %r, %w : (tensor<3x6xf32>, tensor<6xf32>) -> tensor<3x6xf32>
  func.return %m : tensor<3x6xf32>
}

// -----

// GroupNorm(C, C) on (N, C, T) (wav2vec's first layer): its reshapes were identities that
// `simplify` removed, so an instance norm with a per-channel Mul and Add after it is one.
// CHECK-LABEL: func.func @groups_of_one_channel
// CHECK:         %[[Y:.+]] = ge.group_norm %x, %{{.+}}, %{{.+}} {epsilon = 1.000000e-05 : f64, num_groups = 4 : i64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @groups_of_one_channel(%x: tensor<2x4x9xf32>) -> tensor<2x4x9xf32> {
  %ones = ge.constant dense<1.0> : tensor<4xf32>
  %zeros = ge.constant dense<0.0> : tensor<4xf32>
  %w = ge.constant dense<[[0.5], [1.5], [2.0], [-1.0]]> : tensor<4x1xf32>
  %b = ge.constant dense<[[0.1], [0.2], [0.3], [0.4]]> : tensor<4x1xf32>
  %n = ge.instance_norm %x, %ones, %zeros {epsilon = 1.0e-05 : f64} : (tensor<2x4x9xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x9xf32>
  %m = ge.mul %n, %w : (tensor<2x4x9xf32>, tensor<4x1xf32>) -> tensor<2x4x9xf32>
  %a = ge.add %m, %b : (tensor<2x4x9xf32>, tensor<4x1xf32>) -> tensor<2x4x9xf32>
  func.return %a : tensor<2x4x9xf32>
}

// -----

// An instance norm whose scale is computed at run time, and one that is a real instance
// norm (no reshapes around it), are left alone.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:     ge.group_norm
// CHECK:         ge.instance_norm
// CHECK:         ge.instance_norm
func.func @left_alone(%x: tensor<1x4x2x2xf32>, %s: tensor<2xf32>, %c: tensor<4xf32>) -> (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) {
  %zeros = ge.constant dense<0.0> : tensor<2xf32>
  %g = ge.reshape %x {shape = array<i64: 1, 2, 8>} : (tensor<1x4x2x2xf32>) -> tensor<1x2x8xf32>
  %n = ge.instance_norm %g, %s, %zeros {epsilon = 1.0e-05 : f64} : (tensor<1x2x8xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x8xf32>
  %r = ge.reshape %n {shape = array<i64: 1, 4, 2, 2>} : (tensor<1x2x8xf32>) -> tensor<1x4x2x2xf32>
  %i = ge.instance_norm %x, %c, %c {epsilon = 1.0e-05 : f64} : (tensor<1x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x2x2xf32>
  func.return %r, %i : tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>
}
