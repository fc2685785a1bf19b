// RUN: ge-opt %s --split-input-file --verify-diagnostics 2>&1 | filecheck %s
// RUN: ge-opt %s --split-input-file --verify-diagnostics -p verify-npu 2>&1 | filecheck %s --check-prefix=TARGET

// mmad reads its left operand from UB: the cube reads only L0A and L0B.
// CHECK: 'npu.mmad': a must be in l0a, got a buffer in ub
func.func @mmad_reads_ub() {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %a = npu.alloc : !npu.buffer<16x16xf16, ub, FRACTAL_NZ>
    %b = npu.alloc : !npu.buffer<16x16xf16, l0b, FRACTAL_NZ>
    %c = npu.alloc : !npu.buffer<16x16xf32, l0c, FRACTAL_NZ>
    npu.mmad %a, %b -> %c [16, 16, 16] : !npu.buffer<16x16xf16, ub, FRACTAL_NZ>, !npu.buffer<16x16xf16, l0b, FRACTAL_NZ> -> !npu.buffer<16x16xf32, l0c, FRACTAL_NZ>
  }
  func.return
}

// -----

// The DMA units add atomically only into HBM (a scatter-add's stores from several cores).
// CHECK: 'npu.dma': an atomic add stores into hbm in its own element type, not !npu.buffer<16x16xf32, ub>
func.func @atomic_add_into_ub(%x: !npu.buffer<16x16xf32, hbm>) {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %u = npu.alloc : !npu.buffer<16x16xf32, ub>
    npu.dma %x[0, 0] [16, 16] -> %u[0, 0] [16, 16] {atomic = "add"} : !npu.buffer<16x16xf32, hbm> -> !npu.buffer<16x16xf32, ub>
  }
  func.return
}

// -----

// CHECK: 'npu.dma': unknown atomic "max"; the DMA units add ("add")
func.func @atomic_max(%x: !npu.buffer<16x16xf32, hbm>) {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %u = npu.alloc : !npu.buffer<16x16xf32, ub>
    npu.dma %u[0, 0] [16, 16] -> %x[0, 0] [16, 16] {atomic = "max"} : !npu.buffer<16x16xf32, ub> -> !npu.buffer<16x16xf32, hbm>
  }
  func.return
}

// -----

// Only the MTE1 load into L0A / L0B transposes (not a DMA from HBM, not a store).
// CHECK: 'npu.dma': only an l1 -> l0a / l0b load transposes, not hbm -> l1
func.func @transpose_from_hbm(%x: !npu.buffer<16x32xf16, hbm>) {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %a = npu.alloc : !npu.buffer<32x16xf16, l1, FRACTAL_NZ>
    npu.dma %x[0, 0] [16, 32] -> %a[0, 0] [32, 16] {transpose} : !npu.buffer<16x32xf16, hbm> -> !npu.buffer<32x16xf16, l1, FRACTAL_NZ>
  }
  func.return
}

// -----

// CHECK: 'npu.dma': the destination window [16, 32] is not the source's transposed ([32, 16])
func.func @transpose_same_window() {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %a = npu.alloc : !npu.buffer<32x32xf16, l1, FRACTAL_NZ>
    %b = npu.alloc : !npu.buffer<32x32xf16, l0b, FRACTAL_NZ>
    npu.dma %a[0, 0] [16, 32] -> %b[0, 0] [16, 32] {transpose} : !npu.buffer<32x32xf16, l1, FRACTAL_NZ> -> !npu.buffer<32x32xf16, l0b, FRACTAL_NZ>
  }
  func.return
}

// -----

// MTE1 moves L1 to L0A/L0B; there is no path from HBM straight into L0A.
// CHECK: 'npu.dma': no data path from hbm to l0a
func.func @hbm_to_l0a(%x: !npu.buffer<16x16xf16, hbm>) {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %a = npu.alloc : !npu.buffer<16x16xf16, l0a, FRACTAL_NZ>
    npu.dma %x[0, 0] [16, 16] -> %a[0, 0] [16, 16] : !npu.buffer<16x16xf16, hbm> -> !npu.buffer<16x16xf16, l0a, FRACTAL_NZ>
  }
  func.return
}

// -----

// Vector instructions work on UB only.
// CHECK: 'npu.vec_add': operand 0 must be in ub, got a buffer in l1
func.func @vector_on_l1() {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %a = npu.alloc : !npu.buffer<16x16xf32, l1>
    %u = npu.alloc : !npu.buffer<16x16xf32, ub>
    npu.vec_add %a, %u -> %u : !npu.buffer<16x16xf32, l1>, !npu.buffer<16x16xf32, ub> -> !npu.buffer<16x16xf32, ub>
  }
  func.return
}

// -----

// A DMA window past the end of its buffer.
// CHECK: 'npu.dma': the source window [8:+16] is past dim 0 (16)
func.func @window_past_buffer(%x: !npu.buffer<16x16xf32, hbm>) {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %u = npu.alloc : !npu.buffer<16x16xf32, ub>
    npu.dma %x[8, 0] [16, 16] -> %u[0, 0] [16, 16] : !npu.buffer<16x16xf32, hbm> -> !npu.buffer<16x16xf32, ub>
  }
  func.return
}

// -----

// A wait with no set: the core would hang.
// CHECK: 'npu.kernel' k: npu.wait_flag MTE2 -> V event 0 has no matching npu.set_flag
func.func @unpaired_wait() {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    npu.wait_flag "MTE2" -> "V" [0]
  }
  func.return
}

// -----

// A set on one event, a wait on another.
// CHECK: 'npu.kernel' k: npu.wait_flag MTE2 -> V event 0 has no matching npu.set_flag (1 waits, 0 sets)
func.func @mismatched_events() {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    npu.set_flag "MTE2" -> "V" [1]
    npu.wait_flag "MTE2" -> "V" [0]
  }
  func.return
}

// -----

// Fractal formats need dims in multiples of 16.
// CHECK: FRACTAL_NZ needs its last two dims multiples of 16
func.func @bad_fractal() {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %a = npu.alloc : !npu.buffer<20x16xf16, l1, FRACTAL_NZ>
  }
  func.return
}

// -----

// On-chip buffers are allocated inside kernels.
// CHECK: 'npu.alloc': on-chip buffers are allocated inside an npu.kernel
func.func @alloc_outside() {
  %a = npu.alloc : !npu.buffer<16x16xf16, ub>
  func.return
}

// -----

// Capacity: two 160 KiB UB buffers live at once do not fit 256 KiB of UB (ascend910a).
// TARGET: 'npu.kernel' big: buffers live at once in ub take 327680 bytes; ascend910a has 262144 bytes of ub per core
func.func @ub_overflow() {
  npu.kernel "big" block_dim = 1 {
  ^bb0(%blk: index):
    %a = npu.alloc : !npu.buffer<40960xf32, ub>
    %b = npu.alloc : !npu.buffer<40960xf32, ub>
  }
  func.return
}

// -----

// Capacity is per region: a buffer of a loop body is freed when the iteration ends, so two
// loops of 160 KiB each fit; the peak is one of them.
// TARGET-NOT: error
// TARGET: func.func @scoped_fits
func.func @scoped_fits() {
  npu.kernel "fits" block_dim = 1 {
  ^bb0(%blk: index):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    scf.for %i = %c0 to %c1 step %c1 {
      %a = npu.alloc : !npu.buffer<40960xf32, ub>
    }
    scf.for %i = %c0 to %c1 step %c1 {
      %b = npu.alloc : !npu.buffer<40960xf32, ub>
    }
  }
  func.return
}

// -----

// A dup's exact integer must be the value its f64 scalar rounds it to.
// CHECK: 'npu.vec_dup': exact 5 is not the scalar 9.223372036854776e+18
func.func @dup_exact_differs() {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %u = npu.alloc : !npu.buffer<8xi64, ub>
    npu.vec_dup 9.2233720368547758e+18 -> %u {exact = 5 : i64} : !npu.buffer<8xi64, ub>
  }
  func.return
}
