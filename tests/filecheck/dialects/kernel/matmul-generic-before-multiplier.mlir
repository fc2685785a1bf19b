// RUN: ge-opt %s | filecheck %s

// The generic form written before kernel.matmul had a multiplier carries four
// operandSegmentSizes (lhs, rhs, bias, residual): they keep their meaning.
// CHECK: kernel.matmul %a, %b bias %c residual %r {fused_from = ["ge.matmul", "ge.add", "ge.add"]
// CHECK: kernel.matmul %a, %b residual %r {fused_from = ["ge.matmul", "ge.relu", "ge.add"]
"builtin.module"() ({
  "func.func"() <{sym_name = "f", function_type = (tensor<4x8xf32>, tensor<8x3xf32>, tensor<3xf32>, tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>)}> ({
  ^bb0(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>, %c: tensor<3xf32>, %r: tensor<4x3xf32>):
    %0 = "kernel.matmul"(%a, %b, %c, %r) <{fused_from = ["ge.matmul", "ge.add", "ge.add"], transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 1>}> : (tensor<4x8xf32>, tensor<8x3xf32>, tensor<3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
    %1 = "kernel.matmul"(%a, %b, %r) <{fused_from = ["ge.matmul", "ge.relu", "ge.add"], transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64, activation = "relu", operandSegmentSizes = array<i32: 1, 1, 0, 1>}> : (tensor<4x8xf32>, tensor<8x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
    "func.return"(%0, %1) : (tensor<4x3xf32>, tensor<4x3xf32>) -> ()
  }) : () -> ()
}) : () -> ()
