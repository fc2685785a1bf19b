// RUN: ge-opt %s | filecheck %s

// The generic form written before kernel.matmul had a residual carries no
// operandSegmentSizes: its third operand is the bias, as it was.
// CHECK: kernel.matmul %a, %b bias %c {fused_from = ["ge.matmul", "ge.add"]
// CHECK: kernel.matmul %a, %b {fused_from = ["ge.matmul"]
"builtin.module"() ({
  "func.func"() <{sym_name = "f", function_type = (tensor<4x8xf32>, tensor<8x3xf32>, tensor<3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>)}> ({
  ^bb0(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>, %c: tensor<3xf32>):
    %0 = "kernel.matmul"(%a, %b, %c) <{fused_from = ["ge.matmul", "ge.add"], transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64}> : (tensor<4x8xf32>, tensor<8x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
    %1 = "kernel.matmul"(%a, %b) <{fused_from = ["ge.matmul"], transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64}> : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
    "func.return"(%0, %1) : (tensor<4x3xf32>, tensor<4x3xf32>) -> ()
  }) : () -> ()
}) : () -> ()
