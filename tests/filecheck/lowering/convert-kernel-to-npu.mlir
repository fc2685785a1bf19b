// RUN: ge-opt %s --split-input-file -p convert-kernel-to-npu,verify-npu | filecheck %s

// An elementwise kernel: tiles of UB, inputs loaded by MTE2 (the broadcast row as a (1, c)
// window), the body as vector ops, the tile stored by MTE3, the pipes ordered by flags.

// CHECK-LABEL: func.func @add_relu
// CHECK-SAME: (%[[X:.+]]: !npu.buffer<64x300xf32, hbm>, %[[Y:.+]]: !npu.buffer<1x300xf32, hbm>) -> !npu.buffer<64x300xf32, hbm>
// CHECK: %[[Z:.+]] = npu.hbm_alloc : !npu.buffer<64x300xf32, hbm>
// CHECK: npu.kernel "elementwise_0" block_dim = {{[0-9]+}} attributes {{{.*}}fused_from = ["ge.add", "ge.relu"], kind = "elementwise"}
// CHECK: scf.for
// CHECK: npu.wait_flag "V" -> "MTE2" [0]
// CHECK: npu.dma %[[X]] [{{.+}}] [{{.+}}] -> %{{.+}} [0, 0]
// CHECK-NEXT: npu.dma %[[Y]] [0, %{{.+}}] [1, %{{.+}}] -> %{{.+}} [0, 0] [1, %{{.+}}] : !npu.buffer<1x300xf32, hbm> -> !npu.buffer<1x{{[0-9]+}}xf32, ub>
// CHECK: npu.vec_add
// CHECK-NEXT: npu.vec_relu
// CHECK-NOT: npu.vec_copy
// CHECK: npu.dma %{{.+}} [0, 0] [{{.+}}] -> %[[Z]] [{{.+}}]
// CHECK: func.return %[[Z]]
func.func @add_relu(%x: tensor<64x300xf32>, %y: tensor<1x300xf32>) -> tensor<64x300xf32> {
  %z = kernel.elementwise %x, %y {fused_from = ["ge.add", "ge.relu"]} : (tensor<64x300xf32>, tensor<1x300xf32>) -> tensor<64x300xf32> {
  ^bb0(%a: tensor<f32>, %b: tensor<f32>):
    %s = ge.add %a, %b : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %r = ge.relu %s : (tensor<f32>) -> tensor<f32>
    kernel.yield %r : tensor<f32>
  }
  func.return %z : tensor<64x300xf32>
}

// -----

// A matmul: a K loop of ping/pong buffers (events 0 and 1) through L1 and L0A/L0B into the
// cube, the accumulator through FIX to UB and MTE3 to HBM.

// CHECK-LABEL: func.func @matmul
// CHECK: npu.kernel "matmul_0" block_dim = {{[0-9]+}} attributes {{{.*}}kind = "matmul"}
// CHECK: npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}xf16, l1, FRACTAL_NZ>
// CHECK: npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}xf16, l0a, FRACTAL_NZ>
// CHECK: npu.alloc : !npu.buffer<{{[0-9]+}}x{{[0-9]+}}xf32, l0c, FRACTAL_NZ>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: npu.wait_flag "MTE1" -> "MTE2" [0]
// CHECK: npu.mmad {{.+}} accumulate
// CHECK: scf.if
// CHECK: npu.wait_flag "MTE1" -> "MTE2" [1]
// CHECK: npu.mmad {{.+}} accumulate
// CHECK: npu.dma %{{.+}} [0, 0] [{{.+}}] -> %{{.+}} [0, 0] [{{.+}}] : !npu.buffer<{{.+}}xf32, l0c, FRACTAL_NZ> -> !npu.buffer<{{.+}}xf16, ub>
// CHECK: npu.dma {{.+}} : !npu.buffer<{{.+}}xf16, ub> -> !npu.buffer<256x512xf16, hbm>
func.func @matmul(%a: tensor<256x1024xf16>, %b: tensor<1024x512xf16>) -> tensor<256x512xf16> {
  %c = kernel.matmul %a, %b {transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64, fused_from = ["ge.matmul"]} : (tensor<256x1024xf16>, tensor<1024x512xf16>) -> tensor<256x512xf16>
  func.return %c : tensor<256x512xf16>
}

// -----

// Weights become HBM constants.

// CHECK-LABEL: func.func @weights
// CHECK: %[[W:.+]] = npu.hbm_constant dense<{{.+}}> : tensor<2x3xf32> : !npu.buffer<2x3xf32, hbm>
// CHECK: npu.kernel "matmul_0"
// CHECK: npu.dma %[[W]]
func.func @weights(%a: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = ge.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %c = kernel.matmul %a, %w {transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64, fused_from = ["ge.matmul"]} : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  func.return %c : tensor<4x3xf32>
}

// -----

// A K-heavy f32 GEMM with a bias on few output tiles (BERT's FFN down: M 128, K 3072): K is
// split in two, each half on 16 cores. An init kernel writes the bias into C; each part's
// tiles then add into C by atomic DMAs, the K loop running over the part's range. (C is
// viewed as a 128x768 matrix: with a 2-D B, A's batch axis is rows of one GEMM.)

// CHECK-LABEL: func.func @split_k
// CHECK: npu.kernel "matmul_0_init" block_dim = {{[0-9]+}}
// CHECK: npu.dma {{.+}} : !npu.buffer<{{.+}}xf32, ub> -> !npu.buffer<128x768xf32, hbm>
// CHECK: npu.kernel "matmul_0" block_dim = 32
// CHECK: arith.constant 1536 : index
// CHECK: npu.mmad
// CHECK: npu.dma {{.+}} {atomic = "add"} : !npu.buffer<{{.+}}xf32, ub> -> !npu.buffer<128x768xf32, hbm>
// CHECK-NOT: npu.kernel
func.func @split_k(%a: tensor<1x128x3072xf32>, %b: tensor<3072x768xf32>, %bias: tensor<768xf32>) -> tensor<1x128x768xf32> {
  %c = kernel.matmul %a, %b bias %bias {transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64, fused_from = ["ge.matmul", "ge.add"]} : (tensor<1x128x3072xf32>, tensor<3072x768xf32>, tensor<768xf32>) -> tensor<1x128x768xf32>
  func.return %c : tensor<1x128x768xf32>
}

// -----

// With BERT's skip connection too, the init kernel writes bias + residual into C; the
// split parts then add into it as before. A's batch axis is rows of the GEMM: A, the
// residual and C are viewed as matrices.

// CHECK-LABEL: func.func @split_k_residual
// CHECK: npu.reshape %a : !npu.buffer<1x128x3072xf32, hbm> -> !npu.buffer<128x3072xf32, hbm>
// CHECK-NEXT: %[[X:.+]] = npu.reshape %x : !npu.buffer<1x128x768xf32, hbm> -> !npu.buffer<128x768xf32, hbm>
// CHECK: npu.kernel "matmul_0_init" block_dim = {{[0-9]+}}
// CHECK: npu.dma %bias {{.+}} -> %[[BV:[^ ]+]]
// CHECK-NEXT: npu.dma %[[X]] {{.+}} -> %[[XV:[^ ]+]]
// CHECK: npu.vec_add %[[BV]], %[[XV]]
// CHECK: npu.kernel "matmul_0" block_dim = 32
// CHECK: npu.dma {{.+}} {atomic = "add"} : !npu.buffer<{{.+}}xf32, ub> -> !npu.buffer<128x768xf32, hbm>
// CHECK-NOT: npu.kernel
func.func @split_k_residual(%a: tensor<1x128x3072xf32>, %b: tensor<3072x768xf32>, %bias: tensor<768xf32>, %x: tensor<1x128x768xf32>) -> tensor<1x128x768xf32> {
  %c = kernel.matmul %a, %b bias %bias residual %x {fused_from = ["ge.matmul", "ge.add", "ge.add"]} : (tensor<1x128x3072xf32>, tensor<3072x768xf32>, tensor<768xf32>, tensor<1x128x768xf32>) -> tensor<1x128x768xf32>
  func.return %c : tensor<1x128x768xf32>
}

// -----

// An unsplit GEMM's epilogue: the bias and the residual tile come in one MTE2 batch, the
// residual is added after the activation, and the tile is stored once.

// CHECK-LABEL: func.func @residual_epilogue
// CHECK: npu.kernel "matmul_0"
// CHECK: npu.dma %bias {{.+}} -> %[[BV:[^ ]+]]
// CHECK-NEXT: npu.dma %x {{.+}} -> %[[XV:[^ ]+]] [0, 0] [16, 16]
// CHECK: npu.vec_add %[[U:[^ ]+]], %[[BV]] -> %[[U]]
// CHECK-NEXT: npu.vec_relu %[[U]] -> %[[U]]
// CHECK-NEXT: npu.vec_add %[[U]], %[[XV]] -> %[[U]]
// CHECK: npu.dma %[[U]] {{.+}} -> %{{.+}} : !npu.buffer<16x16xf32, ub> -> !npu.buffer<64x80xf32, hbm>
// CHECK-NOT: npu.kernel
func.func @residual_epilogue(%a: tensor<64x96xf32>, %b: tensor<96x80xf32>, %bias: tensor<80xf32>, %x: tensor<64x80xf32>) -> tensor<64x80xf32> {
  %c = kernel.matmul %a, %b bias %bias residual %x {fused_from = ["ge.matmul", "ge.add", "ge.relu", "ge.add"], activation = "relu"} : (tensor<64x96xf32>, tensor<96x80xf32>, tensor<80xf32>, tensor<64x80xf32>) -> tensor<64x80xf32>
  func.return %c : tensor<64x80xf32>
}

// -----

// The same GEMM with an activation keeps K whole: the activation needs the whole sum.

// CHECK-LABEL: func.func @no_split_with_activation
// CHECK-NOT: _init
// CHECK-NOT: atomic
func.func @no_split_with_activation(%a: tensor<1x128x3072xf32>, %b: tensor<3072x768xf32>, %bias: tensor<768xf32>) -> tensor<1x128x768xf32> {
  %c = kernel.matmul %a, %b bias %bias {transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64, activation = "relu", fused_from = ["ge.matmul", "ge.add", "ge.relu"]} : (tensor<1x128x3072xf32>, tensor<3072x768xf32>, tensor<768xf32>) -> tensor<1x128x768xf32>
  func.return %c : tensor<1x128x768xf32>
}

// -----

// transpose_b (ONNX Gemm's transB, Q K^T): B's buffer holds (N, K); each B tile loads as
// (tn, tk) rows into L1 and the MTE1 load into L0B transposes it. No transpose kernel.

// CHECK-LABEL: func.func @transpose_b
// CHECK-NOT: kind = "transpose"
// CHECK: npu.kernel "matmul_0"
// CHECK: npu.dma %b [%{{.+}}, %{{.+}}] {{\[}}[[N:[0-9]+]], [[K:[0-9]+]]] -> %[[B1:[^ ]+]] [0, 0] {{\[}}[[N]], [[K]]] : !npu.buffer<96x256xf16, hbm> -> !npu.buffer<[[TN:[0-9]+]]x[[TK:[0-9]+]]xf16, l1, FRACTAL_NZ>
// CHECK: npu.dma %[[B1]] [0, 0] {{\[}}[[N]], [[K]]] -> %{{.+}} [0, 0] {{\[}}[[K]], [[N]]] {transpose} : !npu.buffer<[[TN]]x[[TK]]xf16, l1, FRACTAL_NZ> -> !npu.buffer<[[TK]]x[[TN]]xf16, l0b, FRACTAL_NZ>
// CHECK-NOT: npu.kernel
func.func @transpose_b(%a: tensor<64x256xf16>, %b: tensor<96x256xf16>) -> tensor<64x96xf16> {
  %c = kernel.matmul %a, %b {transpose_a = false, transpose_b = true, alpha = 1.000000e+00 : f64, fused_from = ["ge.matmul"]} : (tensor<64x256xf16>, tensor<96x256xf16>) -> tensor<64x96xf16>
  func.return %c : tensor<64x96xf16>
}

// -----

// A split-K GEMM reads a transposed B the same way: its parts' K ranges are column ranges
// of B's (N, K) rows.

// CHECK-LABEL: func.func @split_k_transpose_b
// CHECK: npu.kernel "matmul_0_init"
// CHECK: npu.kernel "matmul_0"
// CHECK: npu.dma %b {{.+}} : !npu.buffer<768x3072xf32, hbm> -> !npu.buffer<{{.+}}xf32, l1, FRACTAL_NZ>
// CHECK: {transpose}
// CHECK: {atomic = "add"}
// CHECK-NOT: npu.kernel
func.func @split_k_transpose_b(%a: tensor<1x128x3072xf32>, %b: tensor<768x3072xf32>, %bias: tensor<768xf32>) -> tensor<1x128x768xf32> {
  %c = kernel.matmul %a, %b bias %bias {transpose_a = false, transpose_b = true, alpha = 1.000000e+00 : f64, fused_from = ["ge.matmul", "ge.add"]} : (tensor<1x128x3072xf32>, tensor<768x3072xf32>, tensor<768xf32>) -> tensor<1x128x768xf32>
  func.return %c : tensor<1x128x768xf32>
}

// -----

// A product that only a split along its last axis reads (`combine-parallel-matmuls`' form):
// the GEMM stores each output tile's columns into the pieces they meet, under a run-time
// test per piece (a tile may straddle two); no split kernel, the product never stored.

// CHECK-LABEL: func.func @stored_split
// CHECK: %[[A:.+]] = npu.hbm_alloc : !npu.buffer<64x40xf16, hbm>
// CHECK: %[[B:.+]] = npu.hbm_alloc : !npu.buffer<64x56xf16, hbm>
// CHECK-NOT: npu.hbm_alloc
// CHECK: npu.kernel "matmul_0"
// CHECK: %[[LO:.+]] = arith.maxui %{{.+}}, %{{.+}} : index
// CHECK: %[[HI:.+]] = arith.minui %{{.+}}, %{{.+}} : index
// CHECK: scf.if
// CHECK: npu.dma %{{.+}} [0, %{{.+}}] [{{.+}}, %{{.+}}] -> %[[A]] [%{{.+}}, %{{.+}}] [{{.+}}, %{{.+}}] : {{.+}} -> !npu.buffer<64x40xf16, hbm>
// CHECK: scf.if
// CHECK: npu.dma %{{.+}} [0, %{{.+}}] [{{.+}}, %{{.+}}] -> %[[B]] [%{{.+}}, %{{.+}}] [{{.+}}, %{{.+}}] : {{.+}} -> !npu.buffer<64x56xf16, hbm>
// CHECK-NOT: npu.kernel
// CHECK: func.return %[[A]], %[[B]]
func.func @stored_split(%x: tensor<64x256xf16>, %w: tensor<256x96xf16>) -> (tensor<64x40xf16>, tensor<64x56xf16>) {
  %p = kernel.matmul %x, %w {transpose_a = false, transpose_b = false, alpha = 1.000000e+00 : f64, fused_from = ["ge.matmul", "ge.matmul"]} : (tensor<64x256xf16>, tensor<256x96xf16>) -> tensor<64x96xf16>
  %a, %b = kernel.split %p {fused_from = ["ge.split"], axis = -1 : i64, sizes = array<i64: 40, 56>} : (tensor<64x96xf16>) -> (tensor<64x40xf16>, tensor<64x56xf16>)
  func.return %a, %b : tensor<64x40xf16>, tensor<64x56xf16>
}
