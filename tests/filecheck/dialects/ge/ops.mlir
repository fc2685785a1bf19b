// RUN: ge-opt %s | ge-opt | filecheck %s
// RUN: ge-opt %s --print-op-generic | ge-opt | filecheck %s

// Every ge op in its custom form, one function each: the printed form parses back to
// the same IR, and so does the generic form (second RUN line).
// tests/gedialects/test_ops_build.py::test_roundtrip_file_covers_every_op keeps it complete.

func.func @constant() -> tensor<2x2xf32> {
  %0 = ge.constant dense<[[1.500000e+00, -2.000000e+00], [2.500000e-01, 3.000000e+00]]> : tensor<2x2xf32>
  func.return %0 : tensor<2x2xf32>
}
// CHECK-LABEL: func.func @constant(
// CHECK-SAME:  ) -> tensor<2x2xf32>
// CHECK-NEXT:    %[[V0:[^ ,:]+]] = ge.constant dense<[[1.500000e+00, -2.000000e+00], [2.500000e-01, 3.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT:    func.return %[[V0]] : tensor<2x2xf32>

func.func @relu(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.relu %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @relu(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.relu %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @sigmoid(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.sigmoid %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @sigmoid(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.sigmoid %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @tanh(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.tanh %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @tanh(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.tanh %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @erf(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.erf %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @erf(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.erf %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @exp(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.exp %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @exp(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.exp %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @log(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.log %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @log(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.log %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @sqrt(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.sqrt %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @sqrt(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.sqrt %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @reciprocal(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.reciprocal %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @reciprocal(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.reciprocal %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @neg(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.neg %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @neg(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.neg %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @abs(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.abs %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @abs(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.abs %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @sign(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.sign %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @sign(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.sign %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @floor(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.floor %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @floor(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.floor %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @ceil(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.ceil %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @ceil(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.ceil %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @round(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.round %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @round(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.round %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @sin(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.sin %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @sin(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.sin %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @cos(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.cos %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @cos(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.cos %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @softplus(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.softplus %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @softplus(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.softplus %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @silu(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.silu %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @silu(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.silu %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @hard_swish(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.hard_swish %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @hard_swish(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.hard_swish %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @gelu(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.gelu %0 {approximate = "tanh"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @gelu(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.gelu %[[V0]] {approximate = "tanh"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @leaky_relu(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.leaky_relu %0 {alpha = 2.000000e-01 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @leaky_relu(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.leaky_relu %[[V0]] {alpha = 2.000000e-01 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @elu(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.elu %0 {alpha = 1.000000e+00 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @elu(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.elu %[[V0]] {alpha = 1.000000e+00 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @hard_sigmoid(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.hard_sigmoid %0 {alpha = 2.000000e-01 : f64, beta = 5.000000e-01 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @hard_sigmoid(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.hard_sigmoid %[[V0]] {alpha = 2.000000e-01 : f64, beta = 5.000000e-01 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @clip(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.clip %0 {min = -1.000000e+00 : f64, max = 6.000000e+00 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @clip(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.clip %[[V0]] {min = -1.000000e+00 : f64, max = 6.000000e+00 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @logical_not(%0: tensor<4xi1>) -> tensor<4xi1> {
  %1 = ge.logical_not %0 : (tensor<4xi1>) -> tensor<4xi1>
  func.return %1 : tensor<4xi1>
}
// CHECK-LABEL: func.func @logical_not(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<4xi1>) -> tensor<4xi1>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.logical_not %[[V0]] : (tensor<4xi1>) -> tensor<4xi1>
// CHECK-NEXT:    func.return %[[V1]] : tensor<4xi1>

func.func @cast(%0: tensor<2x3xf32>) -> tensor<2x3xi64> {
  %1 = ge.cast %0 {to = i64} : (tensor<2x3xf32>) -> tensor<2x3xi64>
  func.return %1 : tensor<2x3xi64>
}
// CHECK-LABEL: func.func @cast(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xi64>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.cast %[[V0]] {to = i64} : (tensor<2x3xf32>) -> tensor<2x3xi64>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xi64>

func.func @add(%0: tensor<2x3xf32>, %1: tensor<3xf32>) -> tensor<2x3xf32> {
  %2 = ge.add %0, %1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @add(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.add %[[V0]], %[[V1]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xf32>

func.func @sub(%0: tensor<2x3xf32>, %1: tensor<3xf32>) -> tensor<2x3xf32> {
  %2 = ge.sub %0, %1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @sub(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.sub %[[V0]], %[[V1]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xf32>

func.func @mul(%0: tensor<2x3xf32>, %1: tensor<3xf32>) -> tensor<2x3xf32> {
  %2 = ge.mul %0, %1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @mul(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.mul %[[V0]], %[[V1]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xf32>

func.func @div(%0: tensor<2x3xf32>, %1: tensor<3xf32>) -> tensor<2x3xf32> {
  %2 = ge.div %0, %1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @div(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.div %[[V0]], %[[V1]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xf32>

func.func @pow(%0: tensor<2x3xf32>, %1: tensor<3xf32>) -> tensor<2x3xf32> {
  %2 = ge.pow %0, %1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @pow(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.pow %[[V0]], %[[V1]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xf32>

func.func @maximum(%0: tensor<2x3xf32>, %1: tensor<3xf32>) -> tensor<2x3xf32> {
  %2 = ge.maximum %0, %1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @maximum(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.maximum %[[V0]], %[[V1]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xf32>

func.func @minimum(%0: tensor<2x3xf32>, %1: tensor<3xf32>) -> tensor<2x3xf32> {
  %2 = ge.minimum %0, %1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @minimum(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.minimum %[[V0]], %[[V1]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xf32>

func.func @mod(%0: tensor<2x3xf32>, %1: tensor<3xf32>) -> tensor<2x3xf32> {
  %2 = ge.mod %0, %1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @mod(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.mod %[[V0]], %[[V1]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xf32>

func.func @prelu(%0: tensor<2x3xf32>, %1: tensor<3xf32>) -> tensor<2x3xf32> {
  %2 = ge.prelu %0, %1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @prelu(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.prelu %[[V0]], %[[V1]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xf32>

func.func @equal(%0: tensor<2x3xi64>, %1: tensor<1xi64>) -> tensor<2x3xi1> {
  %2 = ge.equal %0, %1 : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
  func.return %2 : tensor<2x3xi1>
}
// CHECK-LABEL: func.func @equal(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xi64>, %[[V1:[^ ,:]+]]: tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.equal %[[V0]], %[[V1]] : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xi1>

func.func @less(%0: tensor<2x3xi64>, %1: tensor<1xi64>) -> tensor<2x3xi1> {
  %2 = ge.less %0, %1 : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
  func.return %2 : tensor<2x3xi1>
}
// CHECK-LABEL: func.func @less(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xi64>, %[[V1:[^ ,:]+]]: tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.less %[[V0]], %[[V1]] : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xi1>

func.func @less_equal(%0: tensor<2x3xi64>, %1: tensor<1xi64>) -> tensor<2x3xi1> {
  %2 = ge.less_equal %0, %1 : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
  func.return %2 : tensor<2x3xi1>
}
// CHECK-LABEL: func.func @less_equal(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xi64>, %[[V1:[^ ,:]+]]: tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.less_equal %[[V0]], %[[V1]] : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xi1>

func.func @greater(%0: tensor<2x3xi64>, %1: tensor<1xi64>) -> tensor<2x3xi1> {
  %2 = ge.greater %0, %1 : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
  func.return %2 : tensor<2x3xi1>
}
// CHECK-LABEL: func.func @greater(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xi64>, %[[V1:[^ ,:]+]]: tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.greater %[[V0]], %[[V1]] : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xi1>

func.func @greater_equal(%0: tensor<2x3xi64>, %1: tensor<1xi64>) -> tensor<2x3xi1> {
  %2 = ge.greater_equal %0, %1 : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
  func.return %2 : tensor<2x3xi1>
}
// CHECK-LABEL: func.func @greater_equal(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xi64>, %[[V1:[^ ,:]+]]: tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.greater_equal %[[V0]], %[[V1]] : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi1>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xi1>

func.func @logical_and(%0: tensor<2x3xi1>, %1: tensor<3xi1>) -> tensor<2x3xi1> {
  %2 = ge.logical_and %0, %1 : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  func.return %2 : tensor<2x3xi1>
}
// CHECK-LABEL: func.func @logical_and(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xi1>, %[[V1:[^ ,:]+]]: tensor<3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.logical_and %[[V0]], %[[V1]] : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xi1>

func.func @logical_or(%0: tensor<2x3xi1>, %1: tensor<3xi1>) -> tensor<2x3xi1> {
  %2 = ge.logical_or %0, %1 : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  func.return %2 : tensor<2x3xi1>
}
// CHECK-LABEL: func.func @logical_or(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xi1>, %[[V1:[^ ,:]+]]: tensor<3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.logical_or %[[V0]], %[[V1]] : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xi1>

func.func @logical_xor(%0: tensor<2x3xi1>, %1: tensor<3xi1>) -> tensor<2x3xi1> {
  %2 = ge.logical_xor %0, %1 : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  func.return %2 : tensor<2x3xi1>
}
// CHECK-LABEL: func.func @logical_xor(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xi1>, %[[V1:[^ ,:]+]]: tensor<3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.logical_xor %[[V0]], %[[V1]] : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3xi1>

func.func @where(%0: tensor<2x1xi1>, %1: tensor<2x3xf32>, %2: tensor<3xf32>) -> tensor<2x3xf32> {
  %3 = ge.where %0, %1, %2 : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %3 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @where(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x1xi1>, %[[V1:[^ ,:]+]]: tensor<2x3xf32>, %[[V2:[^ ,:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V3:[^ ,:]+]] = ge.where %[[V0]], %[[V1]], %[[V2]] : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V3]] : tensor<2x3xf32>

func.func @matmul(%0: tensor<2x5x3xf32>, %1: tensor<3x4xf32>) -> tensor<2x5x4xf32> {
  %2 = ge.matmul %0, %1 : (tensor<2x5x3xf32>, tensor<3x4xf32>) -> tensor<2x5x4xf32>
  func.return %2 : tensor<2x5x4xf32>
}
// CHECK-LABEL: func.func @matmul(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x5x3xf32>, %[[V1:[^ ,:]+]]: tensor<3x4xf32>) -> tensor<2x5x4xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.matmul %[[V0]], %[[V1]] : (tensor<2x5x3xf32>, tensor<3x4xf32>) -> tensor<2x5x4xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x5x4xf32>

func.func @conv2d(%0: tensor<1x4x8x8xf32>, %1: tensor<8x2x3x3xf32>, %2: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %3 = ge.conv2d %0, %1, %2 {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  func.return %3 : tensor<1x8x4x4xf32>
}
// CHECK-LABEL: func.func @conv2d(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x4x8x8xf32>, %[[V1:[^ ,:]+]]: tensor<8x2x3x3xf32>, %[[V2:[^ ,:]+]]: tensor<8xf32>) -> tensor<1x8x4x4xf32>
// CHECK-NEXT:    %[[V3:[^ ,:]+]] = ge.conv2d %[[V0]], %[[V1]], %[[V2]] {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
// CHECK-NEXT:    func.return %[[V3]] : tensor<1x8x4x4xf32>

func.func @conv_transpose2d(%0: tensor<1x4x3x3xf32>, %1: tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32> {
  %2 = ge.conv_transpose2d %0, %1 {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  func.return %2 : tensor<1x2x8x8xf32>
}
// CHECK-LABEL: func.func @conv_transpose2d(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x4x3x3xf32>, %[[V1:[^ ,:]+]]: tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.conv_transpose2d %[[V0]], %[[V1]] {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<1x2x8x8xf32>

func.func @batch_norm(%0: tensor<1x3x4x4xf32>, %1: tensor<3xf32>, %2: tensor<3xf32>, %3: tensor<3xf32>, %4: tensor<3xf32>) -> tensor<1x3x4x4xf32> {
  %5 = ge.batch_norm %0, %1, %2, %3, %4 {epsilon = 1.000000e-03 : f64} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  func.return %5 : tensor<1x3x4x4xf32>
}
// CHECK-LABEL: func.func @batch_norm(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x3x4x4xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>, %[[V2:[^ ,:]+]]: tensor<3xf32>, %[[V3:[^ ,:]+]]: tensor<3xf32>, %[[V4:[^ ,:]+]]: tensor<3xf32>) -> tensor<1x3x4x4xf32>
// CHECK-NEXT:    %[[V5:[^ ,:]+]] = ge.batch_norm %[[V0]], %[[V1]], %[[V2]], %[[V3]], %[[V4]] {epsilon = 1.000000e-03 : f64} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
// CHECK-NEXT:    func.return %[[V5]] : tensor<1x3x4x4xf32>

func.func @instance_norm(%0: tensor<1x3x4x4xf32>, %1: tensor<3xf32>, %2: tensor<3xf32>) -> tensor<1x3x4x4xf32> {
  %3 = ge.instance_norm %0, %1, %2 {epsilon = 1.000000e-05 : f64} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  func.return %3 : tensor<1x3x4x4xf32>
}
// CHECK-LABEL: func.func @instance_norm(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x3x4x4xf32>, %[[V1:[^ ,:]+]]: tensor<3xf32>, %[[V2:[^ ,:]+]]: tensor<3xf32>) -> tensor<1x3x4x4xf32>
// CHECK-NEXT:    %[[V3:[^ ,:]+]] = ge.instance_norm %[[V0]], %[[V1]], %[[V2]] {epsilon = 1.000000e-05 : f64} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
// CHECK-NEXT:    func.return %[[V3]] : tensor<1x3x4x4xf32>

func.func @group_norm(%0: tensor<2x6x4x4xf32>, %1: tensor<6xf32>, %2: tensor<6xf32>) -> tensor<2x6x4x4xf32> {
  %3 = ge.group_norm %0, %1, %2 {num_groups = 3 : i64, epsilon = 1.000000e-05 : f64} : (tensor<2x6x4x4xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>
  func.return %3 : tensor<2x6x4x4xf32>
}
// CHECK-LABEL: func.func @group_norm(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x6x4x4xf32>, %[[V1:[^ ,:]+]]: tensor<6xf32>, %[[V2:[^ ,:]+]]: tensor<6xf32>) -> tensor<2x6x4x4xf32>
// CHECK-NEXT:    %[[V3:[^ ,:]+]] = ge.group_norm %[[V0]], %[[V1]], %[[V2]] {num_groups = 3 : i64, epsilon = 1.000000e-05 : f64} : (tensor<2x6x4x4xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>
// CHECK-NEXT:    func.return %[[V3]] : tensor<2x6x4x4xf32>

func.func @rope(%0: tensor<1x2x5x8xf32>, %1: tensor<1x1x5x8xf32>, %2: tensor<5x1xf32>) -> tensor<1x2x5x8xf32> {
  %3 = ge.rope %0, %1, %2 : (tensor<1x2x5x8xf32>, tensor<1x1x5x8xf32>, tensor<5x1xf32>) -> tensor<1x2x5x8xf32>
  func.return %3 : tensor<1x2x5x8xf32>
}
// CHECK-LABEL: func.func @rope(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x2x5x8xf32>, %[[V1:[^ ,:]+]]: tensor<1x1x5x8xf32>, %[[V2:[^ ,:]+]]: tensor<5x1xf32>) -> tensor<1x2x5x8xf32>
// CHECK-NEXT:    %[[V3:[^ ,:]+]] = ge.rope %[[V0]], %[[V1]], %[[V2]] : (tensor<1x2x5x8xf32>, tensor<1x1x5x8xf32>, tensor<5x1xf32>) -> tensor<1x2x5x8xf32>
// CHECK-NEXT:    func.return %[[V3]] : tensor<1x2x5x8xf32>

func.func @layer_norm(%0: tensor<2x3x8xf32>, %1: tensor<8xf32>, %2: tensor<8xf32>) -> tensor<2x3x8xf32> {
  %3 = ge.layer_norm %0, %1, %2 {axis = -1 : i64, epsilon = 1.000000e-05 : f64} : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  func.return %3 : tensor<2x3x8xf32>
}
// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x8xf32>, %[[V1:[^ ,:]+]]: tensor<8xf32>, %[[V2:[^ ,:]+]]: tensor<8xf32>) -> tensor<2x3x8xf32>
// CHECK-NEXT:    %[[V3:[^ ,:]+]] = ge.layer_norm %[[V0]], %[[V1]], %[[V2]] {axis = -1 : i64, epsilon = 1.000000e-05 : f64} : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
// CHECK-NEXT:    func.return %[[V3]] : tensor<2x3x8xf32>

func.func @rms_norm(%0: tensor<2x3x8xf32>, %1: tensor<8xf32>) -> tensor<2x3x8xf32> {
  %2 = ge.rms_norm %0, %1 {axis = -1 : i64, epsilon = 1.000000e-06 : f64} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  func.return %2 : tensor<2x3x8xf32>
}
// CHECK-LABEL: func.func @rms_norm(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x8xf32>, %[[V1:[^ ,:]+]]: tensor<8xf32>) -> tensor<2x3x8xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.rms_norm %[[V0]], %[[V1]] {axis = -1 : i64, epsilon = 1.000000e-06 : f64} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x3x8xf32>

func.func @softmax(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.softmax %0 {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @softmax(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.softmax %[[V0]] {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @log_softmax(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.log_softmax %0 {axis = -1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @log_softmax(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.log_softmax %[[V0]] {axis = -1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @lrn(%0: tensor<1x6x4x4xf32>) -> tensor<1x6x4x4xf32> {
  %1 = ge.lrn %0 {alpha = 1.000000e-04 : f64, beta = 7.500000e-01 : f64, bias = 1.000000e+00 : f64, size = 3 : i64} : (tensor<1x6x4x4xf32>) -> tensor<1x6x4x4xf32>
  func.return %1 : tensor<1x6x4x4xf32>
}
// CHECK-LABEL: func.func @lrn(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x6x4x4xf32>) -> tensor<1x6x4x4xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.lrn %[[V0]] {alpha = 1.000000e-04 : f64, beta = 7.500000e-01 : f64, bias = 1.000000e+00 : f64, size = 3 : i64} : (tensor<1x6x4x4xf32>) -> tensor<1x6x4x4xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<1x6x4x4xf32>

func.func @dropout(%0: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %1 = ge.dropout %0 {ratio = 1.000000e-01 : f64, is_training = true, seed = 42 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
// CHECK-LABEL: func.func @dropout(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.dropout %[[V0]] {ratio = 1.000000e-01 : f64, is_training = true, seed = 42 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3xf32>

func.func @max_pool2d(%0: tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32> {
  %1 = ge.max_pool2d %0 {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = true, kernel_shape = array<i64: 3, 3>} : (tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32>
  func.return %1 : tensor<1x2x4x4xf32>
}
// CHECK-LABEL: func.func @max_pool2d(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.max_pool2d %[[V0]] {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = true, kernel_shape = array<i64: 3, 3>} : (tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<1x2x4x4xf32>

func.func @avg_pool2d(%0: tensor<1x2x7x7xf32>) -> tensor<1x2x3x3xf32> {
  %1 = ge.avg_pool2d %0 {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = false, count_include_pad = true, kernel_shape = array<i64: 2, 2>} : (tensor<1x2x7x7xf32>) -> tensor<1x2x3x3xf32>
  func.return %1 : tensor<1x2x3x3xf32>
}
// CHECK-LABEL: func.func @avg_pool2d(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x2x7x7xf32>) -> tensor<1x2x3x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.avg_pool2d %[[V0]] {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = false, count_include_pad = true, kernel_shape = array<i64: 2, 2>} : (tensor<1x2x7x7xf32>) -> tensor<1x2x3x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<1x2x3x3xf32>

func.func @global_avg_pool(%0: tensor<1x2x7x7xf32>) -> tensor<1x2x1x1xf32> {
  %1 = ge.global_avg_pool %0 : (tensor<1x2x7x7xf32>) -> tensor<1x2x1x1xf32>
  func.return %1 : tensor<1x2x1x1xf32>
}
// CHECK-LABEL: func.func @global_avg_pool(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x2x7x7xf32>) -> tensor<1x2x1x1xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.global_avg_pool %[[V0]] : (tensor<1x2x7x7xf32>) -> tensor<1x2x1x1xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<1x2x1x1xf32>

func.func @global_max_pool(%0: tensor<1x2x7xf32>) -> tensor<1x2x1xf32> {
  %1 = ge.global_max_pool %0 : (tensor<1x2x7xf32>) -> tensor<1x2x1xf32>
  func.return %1 : tensor<1x2x1xf32>
}
// CHECK-LABEL: func.func @global_max_pool(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x2x7xf32>) -> tensor<1x2x1xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.global_max_pool %[[V0]] : (tensor<1x2x7xf32>) -> tensor<1x2x1xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<1x2x1xf32>

func.func @reduce_sum(%0: tensor<2x3x4xf32>) -> tensor<3xf32> {
  %1 = ge.reduce_sum %0 {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  func.return %1 : tensor<3xf32>
}
// CHECK-LABEL: func.func @reduce_sum(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.reduce_sum %[[V0]] {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<3xf32>

func.func @reduce_mean(%0: tensor<2x3x4xf32>) -> tensor<3xf32> {
  %1 = ge.reduce_mean %0 {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  func.return %1 : tensor<3xf32>
}
// CHECK-LABEL: func.func @reduce_mean(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.reduce_mean %[[V0]] {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<3xf32>

func.func @reduce_max(%0: tensor<2x3x4xf32>) -> tensor<3xf32> {
  %1 = ge.reduce_max %0 {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  func.return %1 : tensor<3xf32>
}
// CHECK-LABEL: func.func @reduce_max(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.reduce_max %[[V0]] {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<3xf32>

func.func @reduce_min(%0: tensor<2x3x4xf32>) -> tensor<3xf32> {
  %1 = ge.reduce_min %0 {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  func.return %1 : tensor<3xf32>
}
// CHECK-LABEL: func.func @reduce_min(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.reduce_min %[[V0]] {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<3xf32>

func.func @reduce_prod(%0: tensor<2x3x4xf32>) -> tensor<3xf32> {
  %1 = ge.reduce_prod %0 {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  func.return %1 : tensor<3xf32>
}
// CHECK-LABEL: func.func @reduce_prod(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.reduce_prod %[[V0]] {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<3xf32>

func.func @reduce_l2(%0: tensor<2x3x4xf32>) -> tensor<3xf32> {
  %1 = ge.reduce_l2 %0 {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  func.return %1 : tensor<3xf32>
}
// CHECK-LABEL: func.func @reduce_l2(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.reduce_l2 %[[V0]] {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<3xf32>

func.func @argmax(%0: tensor<2x3xf32>) -> tensor<2xi64> {
  %1 = ge.argmax %0 {axis = 1 : i64, keepdims = false, select_last_index = false} : (tensor<2x3xf32>) -> tensor<2xi64>
  func.return %1 : tensor<2xi64>
}
// CHECK-LABEL: func.func @argmax(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2xi64>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.argmax %[[V0]] {axis = 1 : i64, keepdims = false, select_last_index = false} : (tensor<2x3xf32>) -> tensor<2xi64>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2xi64>

func.func @argmin(%0: tensor<2x3xf32>) -> tensor<1x3xi64> {
  %1 = ge.argmin %0 {axis = 0 : i64, keepdims = true, select_last_index = true} : (tensor<2x3xf32>) -> tensor<1x3xi64>
  func.return %1 : tensor<1x3xi64>
}
// CHECK-LABEL: func.func @argmin(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<1x3xi64>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.argmin %[[V0]] {axis = 0 : i64, keepdims = true, select_last_index = true} : (tensor<2x3xf32>) -> tensor<1x3xi64>
// CHECK-NEXT:    func.return %[[V1]] : tensor<1x3xi64>

func.func @transpose(%0: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %1 = ge.transpose %0 {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  func.return %1 : tensor<4x2x3xf32>
}
// CHECK-LABEL: func.func @transpose(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.transpose %[[V0]] {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<4x2x3xf32>

func.func @reshape(%0: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %1 = ge.reshape %0 {shape = array<i64: 6, 4>} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  func.return %1 : tensor<6x4xf32>
}
// CHECK-LABEL: func.func @reshape(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3x4xf32>) -> tensor<6x4xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.reshape %[[V0]] {shape = array<i64: 6, 4>} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<6x4xf32>

func.func @expand(%0: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %1 = ge.expand %0 {shape = array<i64: 2, 3, 4>} : (tensor<3x1xf32>) -> tensor<2x3x4xf32>
  func.return %1 : tensor<2x3x4xf32>
}
// CHECK-LABEL: func.func @expand(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<3x1xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.expand %[[V0]] {shape = array<i64: 2, 3, 4>} : (tensor<3x1xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<2x3x4xf32>

func.func @concat(%0: tensor<2x1xf32>, %1: tensor<2x3xf32>) -> tensor<2x4xf32> {
  %2 = ge.concat %0, %1 {axis = 1 : i64} : (tensor<2x1xf32>, tensor<2x3xf32>) -> tensor<2x4xf32>
  func.return %2 : tensor<2x4xf32>
}
// CHECK-LABEL: func.func @concat(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x1xf32>, %[[V1:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<2x4xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.concat %[[V0]], %[[V1]] {axis = 1 : i64} : (tensor<2x1xf32>, tensor<2x3xf32>) -> tensor<2x4xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<2x4xf32>

func.func @slice(%0: tensor<6x4xf32>) -> tensor<3x4xf32> {
  %1 = ge.slice %0 {starts = array<i64: 5>, ends = array<i64: -100>, axes = array<i64: 0>, steps = array<i64: -2>} : (tensor<6x4xf32>) -> tensor<3x4xf32>
  func.return %1 : tensor<3x4xf32>
}
// CHECK-LABEL: func.func @slice(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<6x4xf32>) -> tensor<3x4xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.slice %[[V0]] {starts = array<i64: 5>, ends = array<i64: -100>, axes = array<i64: 0>, steps = array<i64: -2>} : (tensor<6x4xf32>) -> tensor<3x4xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<3x4xf32>

func.func @gather(%0: tensor<5x4xf32>, %1: tensor<3xi64>) -> tensor<3x4xf32> {
  %2 = ge.gather %0, %1 {axis = 0 : i64} : (tensor<5x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
  func.return %2 : tensor<3x4xf32>
}
// CHECK-LABEL: func.func @gather(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<5x4xf32>, %[[V1:[^ ,:]+]]: tensor<3xi64>) -> tensor<3x4xf32>
// CHECK-NEXT:    %[[V2:[^ ,:]+]] = ge.gather %[[V0]], %[[V1]] {axis = 0 : i64} : (tensor<5x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
// CHECK-NEXT:    func.return %[[V2]] : tensor<3x4xf32>

func.func @scatter(%0: tensor<5x4xf32>, %1: tensor<3xi64>, %2: tensor<3x4xf32>) -> tensor<5x4xf32> {
  %3 = ge.scatter %0, %1, %2 {axis = 0 : i64, reduction = "add"} : (tensor<5x4xf32>, tensor<3xi64>, tensor<3x4xf32>) -> tensor<5x4xf32>
  func.return %3 : tensor<5x4xf32>
}
// CHECK-LABEL: func.func @scatter(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<5x4xf32>, %[[V1:[^ ,:]+]]: tensor<3xi64>, %[[V2:[^ ,:]+]]: tensor<3x4xf32>) -> tensor<5x4xf32>
// CHECK-NEXT:    %[[V3:[^ ,:]+]] = ge.scatter %[[V0]], %[[V1]], %[[V2]] {axis = 0 : i64, reduction = "add"} : (tensor<5x4xf32>, tensor<3xi64>, tensor<3x4xf32>) -> tensor<5x4xf32>
// CHECK-NEXT:    func.return %[[V3]] : tensor<5x4xf32>

func.func @split(%0: tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>) {
  %1, %2 = ge.split %0 {axis = 1 : i64, sizes = array<i64: 2, 4>} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>)
  func.return %1, %2 : tensor<2x2xf32>, tensor<2x4xf32>
}
// CHECK-LABEL: func.func @split(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>)
// CHECK-NEXT:    %[[V1:[^ ,:]+]], %[[V2:[^ ,:]+]] = ge.split %[[V0]] {axis = 1 : i64, sizes = array<i64: 2, 4>} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>)
// CHECK-NEXT:    func.return %[[V1]], %[[V2]] : tensor<2x2xf32>, tensor<2x4xf32>

func.func @pad(%0: tensor<2x3xf32>) -> tensor<3x5xf32> {
  %1 = ge.pad %0 {mode = "reflect", value = 0.000000e+00 : f64, pads = array<i64: 1, 0, 0, 2>} : (tensor<2x3xf32>) -> tensor<3x5xf32>
  func.return %1 : tensor<3x5xf32>
}
// CHECK-LABEL: func.func @pad(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<2x3xf32>) -> tensor<3x5xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.pad %[[V0]] {mode = "reflect", value = 0.000000e+00 : f64, pads = array<i64: 1, 0, 0, 2>} : (tensor<2x3xf32>) -> tensor<3x5xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<3x5xf32>

func.func @resize(%0: tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32> {
  %1 = ge.resize %0 {mode = "linear", coordinate_transformation_mode = "align_corners", nearest_mode = "round_prefer_floor", sizes = array<i64: 1, 1, 4, 4>} : (tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
  func.return %1 : tensor<1x1x4x4xf32>
}
// CHECK-LABEL: func.func @resize(
// CHECK-SAME:  %[[V0:[^ ,:]+]]: tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
// CHECK-NEXT:    %[[V1:[^ ,:]+]] = ge.resize %[[V0]] {mode = "linear", coordinate_transformation_mode = "align_corners", nearest_mode = "round_prefer_floor", sizes = array<i64: 1, 1, 4, 4>} : (tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
// CHECK-NEXT:    func.return %[[V1]] : tensor<1x1x4x4xf32>
