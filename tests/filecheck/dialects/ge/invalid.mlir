// RUN: not ge-opt %s --split-input-file 2>&1 | filecheck %s

func.func @bad_add(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
  %0 = ge.add %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}
// CHECK: invalid.mlir:4:3: error: 'ge.add': result type tensor<2x4xf32> does not match the inferred tensor<2x3xf32>

// -----

func.func @bad_conv(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %0 : tensor<1x4x6x6xf32>
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.conv2d': weight has 2 input channels per group, input gives 3 / 1 = 3

// -----

func.func @syntax(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ge.relu %x : tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:{{[0-9]+}}: error:

// -----

func.func @exp_int(%x: tensor<2xi64>) {
  %0 = ge.exp %x : (tensor<2xi64>) -> tensor<2xi64>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.exp': input must have a float element type, got tensor<2xi64>

// -----

func.func @relu_bool(%x: tensor<2xi1>) {
  %0 = ge.relu %x : (tensor<2xi1>) -> tensor<2xi1>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.relu': input must be numeric, got tensor<2xi1>

// -----

func.func @mul_no_broadcast(%x: tensor<2x3xf32>, %y: tensor<4xf32>) {
  %0 = ge.mul %x, %y : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.mul': shapes 2x3 and 4 do not broadcast

// -----

func.func @less_mixed_types(%x: tensor<2xf32>, %y: tensor<2xi64>) {
  %0 = ge.less %x, %y : (tensor<2xf32>, tensor<2xi64>) -> tensor<2xi1>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.less': operands must share one element type, got tensor<2xf32>, tensor<2xi64>

// -----

func.func @or_not_bool(%x: tensor<2xf32>, %y: tensor<2xf32>) {
  %0 = ge.logical_or %x, %y : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xi1>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.logical_or': operand must have element type i1, got tensor<2xf32>

// -----

func.func @where_float_condition(%c: tensor<2xf32>, %x: tensor<2xf32>) {
  %0 = ge.where %c, %x, %x : (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.where': condition must have element type i1, got tensor<2xf32>

// -----

func.func @cast_to_index(%x: tensor<2xf32>) {
  %0 = ge.cast %x {to = index} : (tensor<2xf32>) -> tensor<2xindex>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.cast': cannot cast to index: not a tensor element type of ge

// -----

func.func @gelu_bad_form(%x: tensor<2xf32>) {
  %0 = ge.gelu %x {approximate = "fast"} : (tensor<2xf32>) -> tensor<2xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.gelu': approximate must be "none" or "tanh"

// -----

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  %0 = ge.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.matmul': contraction dims differ: lhs has 3, rhs has 4 (tensor<2x3xf32> x tensor<4x5xf32>)

// -----

func.func @conv_bias_shape(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x3x3xf32>, %b: tensor<3xf32>) {
  %0 = ge.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32>, tensor<3xf32>) -> tensor<1x2x2x2xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.conv2d': bias must have shape 2, got tensor<3xf32>

// -----

func.func @conv_transpose_channels(%x: tensor<1x3x4x4xf32>, %w: tensor<2x1x3x3xf32>) {
  %0 = ge.conv_transpose2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x3x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x1x6x6xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.conv_transpose2d': weight has 2 input channels, input has 3 (groups=1)

// -----

func.func @batch_norm_scale(%x: tensor<2x4xf32>, %s: tensor<3xf32>, %c: tensor<4xf32>) {
  %0 = ge.batch_norm %x, %s, %c, %c, %c {epsilon = 1.0e-05 : f64} : (tensor<2x4xf32>, tensor<3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.batch_norm': scale must have shape 4, got tensor<3xf32>

// -----

func.func @instance_norm_rank(%x: tensor<2x4xf32>, %c: tensor<4xf32>) {
  %0 = ge.instance_norm %x, %c, %c {epsilon = 1.0e-05 : f64} : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.instance_norm': input must have rank >= 3 (N, C, spatial...)

// -----

func.func @group_norm_groups(%x: tensor<1x6x4xf32>, %c: tensor<6xf32>) {
  %0 = ge.group_norm %x, %c, %c {num_groups = 4 : i64, epsilon = 1.0e-05 : f64} : (tensor<1x6x4xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x6x4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.group_norm': num_groups 4 does not divide the 6 channels

// -----

func.func @rope_odd(%x: tensor<2x5xf32>, %c: tensor<5xf32>) {
  %0 = ge.rope %x, %c, %c : (tensor<2x5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.rope': the last axis of input tensor<2x5xf32> must be even

// -----

func.func @rope_partial_odd(%x: tensor<2x5xf32>, %c: tensor<3xf32>) {
  %0 = ge.rope %x, %c, %c {rotary_dim = 3 : i64} : (tensor<2x5xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x5xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.rope': rotary_dim 3 must be even and in (0, 5]

// -----

func.func @rope_partial_table(%x: tensor<2x8xf32>, %c: tensor<8xf32>) {
  %0 = ge.rope %x, %c, %c {rotary_dim = 4 : i64} : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.rope': shapes 2x4 and 8 do not broadcast

// -----

func.func @layer_norm_axis(%x: tensor<2x3xf32>, %s: tensor<3xf32>) {
  %0 = ge.layer_norm %x, %s {axis = 2 : i64, epsilon = 1.0e-05 : f64} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.layer_norm': axis 2 is out of range for rank 2

// -----

func.func @softmax_axis(%x: tensor<2x3xf32>) {
  %0 = ge.softmax %x {axis = -3 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.softmax': axis -3 is out of range for rank 2

// -----

func.func @dropout_ratio(%x: tensor<2xf32>) {
  %0 = ge.dropout %x {ratio = 1.0 : f64, is_training = true, seed = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.dropout': ratio must be in [0, 1)

// -----

func.func @max_pool_window(%x: tensor<1x1x2x2xf32>) {
  %0 = ge.max_pool2d %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = false} : (tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.max_pool2d': window of extent 3 does not fit input extent 2 with pads

// -----

func.func @global_pool_rank(%x: tensor<2x3xf32>) {
  %0 = ge.global_avg_pool %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.global_avg_pool': input must have rank >= 3 (N, C, spatial...)

// -----

func.func @reduce_repeated_axes(%x: tensor<2x3xf32>) {
  %0 = ge.reduce_sum %x {axes = array<i64: 1, -1>, keepdims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.reduce_sum': axes [1, -1] repeat an axis

// -----

func.func @argmax_axis(%x: tensor<2x3xf32>) {
  %0 = ge.argmax %x {axis = 4 : i64, keepdims = false, select_last_index = false} : (tensor<2x3xf32>) -> tensor<2xi64>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.argmax': axis 4 is out of range for rank 2

// -----

func.func @transpose_perm(%x: tensor<2x3xf32>) {
  %0 = ge.transpose %x {perm = array<i64: 0, 0>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.transpose': perm [0, 0] is not a permutation of 2 dims

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) {
  %0 = ge.reshape %x {shape = array<i64: 4, 2>} : (tensor<2x3xf32>) -> tensor<4x2xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.reshape': cannot reshape tensor<2x3xf32> (6 elements) to [4, 2]

// -----

func.func @expand_shape(%x: tensor<3xf32>) {
  %0 = ge.expand %x {shape = array<i64: 2, 4>} : (tensor<3xf32>) -> tensor<2x4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.expand': shapes 3 and 2x4 do not broadcast

// -----

func.func @concat_shapes(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>) {
  %0 = ge.concat %x, %y {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x6xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.concat': inputs differ outside axis 1: [(2, 3), (3, 3)]

// -----

func.func @slice_zero_step(%x: tensor<4xf32>) {
  %0 = ge.slice %x {starts = array<i64: 0>, ends = array<i64: 4>, axes = array<i64: 0>, steps = array<i64: 0>} : (tensor<4xf32>) -> tensor<4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.slice': steps must be non-zero

// -----

func.func @gather_float_indices(%x: tensor<4xf32>, %i: tensor<2xf32>) {
  %0 = ge.gather %x, %i {axis = 0 : i64} : (tensor<4xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.gather': indices must be i32 or i64, got tensor<2xf32>

// -----

func.func @scatter_updates_shape(%x: tensor<5x4xf32>, %i: tensor<3xi64>, %u: tensor<3x5xf32>) {
  %0 = ge.scatter %x, %i, %u {axis = 0 : i64, reduction = "none"} : (tensor<5x4xf32>, tensor<3xi64>, tensor<3x5xf32>) -> tensor<5x4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.scatter': updates must have shape [3, 4] (the gather's), got tensor<3x5xf32>

// -----

func.func @scatter_reduction(%x: tensor<5x4xf32>, %i: tensor<3xi64>, %u: tensor<3x4xf32>) {
  %0 = ge.scatter %x, %i, %u {axis = 0 : i64, reduction = "mean"} : (tensor<5x4xf32>, tensor<3xi64>, tensor<3x4xf32>) -> tensor<5x4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.scatter': unknown reduction "mean"

// -----

func.func @scatter_element_types(%x: tensor<5x4xf32>, %i: tensor<3xi64>, %u: tensor<3x4xf16>) {
  %0 = ge.scatter %x, %i, %u {axis = 0 : i64, reduction = "none"} : (tensor<5x4xf32>, tensor<3xi64>, tensor<3x4xf16>) -> tensor<5x4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.scatter': operands must share one element type, got tensor<5x4xf32>, tensor<3x4xf16>

// -----

// An empty axis cannot be resized to a non-empty one (onnxruntime refuses it too).
func.func @resize_empty_axis(%x: tensor<0x1x4x4xf32>) {
  %0 = ge.resize %x {sizes = array<i64: 1, 1, 3, 3>, mode = "linear"} : (tensor<0x1x4x4xf32>) -> tensor<1x1x3x3xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.resize': axis 0 has no elements to resize to 1

// -----

func.func @split_sizes(%x: tensor<5xf32>) {
  %0, %1 = ge.split %x {axis = 0 : i64, sizes = array<i64: 2, 2>} : (tensor<5xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.split': sizes [2, 2] do not add up to dim 5 of axis 0

// -----

func.func @pad_mode(%x: tensor<2xf32>) {
  %0 = ge.pad %x {pads = array<i64: 1, 1>, mode = "mirror", value = 0.0 : f64} : (tensor<2xf32>) -> tensor<4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.pad': unknown mode "mirror"

// -----

func.func @resize_mode(%x: tensor<2xf32>) {
  %0 = ge.resize %x {sizes = array<i64: 4>, mode = "area", coordinate_transformation_mode = "half_pixel", nearest_mode = "floor"} : (tensor<2xf32>) -> tensor<4xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.resize': mode "area" is not supported

// -----

func.func @constant_type() {
  %0 = "ge.constant"() <{value = dense<[1.0, 2.0]> : tensor<2xf32>}> : () -> tensor<3xf32>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:3: error: 'ge.constant': value type tensor<2xf32> does not match result type tensor<3xf32>

// -----

func.func @constant_short_hex() {
  %0 = ge.constant dense<"0x0102"> : tensor<3xi8>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:25: error: 'ge.constant' has 2 bytes of data, tensor<3xi8> needs 3

// -----

func.func @constant_index_type() {
  %0 = ge.constant dense<[1, 2]> : tensor<2xindex>
  func.return
}
// CHECK: invalid.mlir:[[# @LINE - 3]]:36: error: 'ge.constant' expects a tensor of a ge element type

// -----

// A value used above its definition (the parser takes forward references) is refused where
// it is used; it parsed and failed later as a KeyError in the lowering or the interpreter.
func.func @use_before_def(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = ge.add %x, %c : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %c = ge.constant dense<[1.0, 2.0]> : tensor<2xf32>
  func.return %y : tensor<2xf32>
}
// CHECK: invalid.mlir:[[# @LINE - 4]]:3: error: 'ge.add': %c is used before it is defined
