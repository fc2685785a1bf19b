# ruff: noqa: E501  (lines of IR text)
"""Hand-written npu programs for the interpreter tests: a tiled matmul and a tiled elementwise op.

Each is text IR generated for given sizes and tile sizes, single- or double-buffered, with
every pipe ordered by flags. Edge tiles (sizes that do not divide) are handled with dynamic
windows: `min(T, size - offset)` rows and columns, K padded with zeros by the DMA.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from ge.registry import make_context


def parse(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


def _consts(**values: int) -> str:
    return "\n".join(f"    %{k} = arith.constant {v} : index" for k, v in values.items())


def _ktile(p: int, k0: str, tm: int, tn: int, tk: int, dt: str) -> str:
    """One K step on ping (p=0) or pong (p=1) buffers: load A, B; move to L0; mmad."""
    a1, b1 = (
        f"!npu.buffer<{tm}x{tk}x{dt}, l1, FRACTAL_NZ>",
        f"!npu.buffer<{tk}x{tn}x{dt}, l1, FRACTAL_NZ>",
    )
    a0, b0 = (
        f"!npu.buffer<{tm}x{tk}x{dt}, l0a, FRACTAL_NZ>",
        f"!npu.buffer<{tk}x{tn}x{dt}, l0b, FRACTAL_NZ>",
    )
    return f"""
        %kr{p} = arith.subi %cK, {k0} : index
        %k{p} = arith.minui %kr{p}, %cTK : index
        npu.wait_flag "MTE1" -> "MTE2" [{p}]
        npu.dma %A[%m0, {k0}] [%m, %k{p}] -> %a1_{p}[0, 0] [{tm}, {tk}] {{pad = 0.0 : f64}} : !npu.buffer<MxKx{dt}, hbm> -> {a1}
        npu.dma %B[{k0}, %n0] [%k{p}, %n] -> %b1_{p}[0, 0] [{tk}, {tn}] {{pad = 0.0 : f64}} : !npu.buffer<KxNx{dt}, hbm> -> {b1}
        npu.set_flag "MTE2" -> "MTE1" [{p}]
        npu.wait_flag "MTE2" -> "MTE1" [{p}]
        npu.wait_flag "M" -> "MTE1" [{p}]
        npu.dma %a1_{p}[0, 0] [{tm}, {tk}] -> %a0_{p}[0, 0] [{tm}, {tk}] : {a1} -> {a0}
        npu.dma %b1_{p}[0, 0] [{tk}, {tn}] -> %b0_{p}[0, 0] [{tk}, {tn}] : {b1} -> {b0}
        npu.set_flag "MTE1" -> "MTE2" [{p}]
        npu.set_flag "MTE1" -> "M" [{p}]
        npu.wait_flag "MTE1" -> "M" [{p}]
        %acc{p} = arith.cmpi ne, {k0}, %c0 : index
        npu.mmad %a0_{p}, %b0_{p} -> %c [%m, %n, %k{p}] accumulate(%acc{p}) : {a0}, {b0} -> !npu.buffer<{tm}x{tn}xf32, l0c, FRACTAL_NZ>
        npu.set_flag "M" -> "MTE1" [{p}]"""


def matmul_program(
    m: int, n: int, k: int, tm: int, tn: int, tk: int, block_dim: int, double: bool = False,
    dtype: str = "f16",
) -> str:  # fmt: skip
    """C (f32) = A @ B with (tm, tn) output tiles spread over blocks and a K loop of tk."""
    ntn, ntiles = -(-n // tn), -(-m // tm) * -(-n // tn)
    pings = (0, 1) if double else (0,)
    allocs = "\n".join(
        f"    %a1_{p} = npu.alloc : !npu.buffer<{tm}x{tk}x{dtype}, l1, FRACTAL_NZ>\n"
        f"    %b1_{p} = npu.alloc : !npu.buffer<{tk}x{tn}x{dtype}, l1, FRACTAL_NZ>\n"
        f"    %a0_{p} = npu.alloc : !npu.buffer<{tm}x{tk}x{dtype}, l0a, FRACTAL_NZ>\n"
        f"    %b0_{p} = npu.alloc : !npu.buffer<{tk}x{tn}x{dtype}, l0b, FRACTAL_NZ>"
        for p in pings
    )
    pro = "\n".join(
        f'    npu.set_flag "MTE1" -> "MTE2" [{p}]\n    npu.set_flag "M" -> "MTE1" [{p}]'
        for p in pings
    )
    epi = "\n".join(
        f'    npu.wait_flag "MTE1" -> "MTE2" [{p}]\n    npu.wait_flag "M" -> "MTE1" [{p}]'
        for p in pings
    )
    if double:
        kloop = f"""      scf.for %kk = %c0 to %cK step %c2TK {{{_ktile(0, "%kk", tm, tn, tk, dtype)}
        %kn = arith.addi %kk, %cTK : index
        %more = arith.cmpi ult, %kn, %cK : index
        scf.if %more {{{_ktile(1, "%kn", tm, tn, tk, dtype)}
        }}
      }}"""
    else:
        kloop = f"""      scf.for %kk = %c0 to %cK step %cTK {{{_ktile(0, "%kk", tm, tn, tk, dtype)}
      }}"""
    cbuf = f"!npu.buffer<{tm}x{tn}xf32, l0c, FRACTAL_NZ>"
    text = f"""
func.func @main(%A: !npu.buffer<MxKx{dtype}, hbm>, %B: !npu.buffer<KxNx{dtype}, hbm>) -> !npu.buffer<MxNxf32, hbm> {{
  %C = npu.hbm_alloc {{offset = 0 : i64}} : !npu.buffer<MxNxf32, hbm>
  npu.kernel "matmul" block_dim = {block_dim} attributes {{kind = "matmul", fused_from = ["MatMul_0"]}} {{
  ^bb0(%blk: index):
{_consts(c0=0, cM=m, cN=n, cK=k, cTM=tm, cTN=tn, cTK=tk, c2TK=2 * tk, ntn=ntn, ntiles=ntiles, bd=block_dim)}
{allocs}
    %c = npu.alloc : {cbuf}
    %u = npu.alloc : !npu.buffer<{tm}x{tn}xf32, ub>
{pro}
    npu.set_flag "FIX" -> "M" [0]
    npu.set_flag "MTE3" -> "FIX" [0]
    scf.for %t = %blk to %ntiles step %bd {{
      %mi = arith.divui %t, %ntn : index
      %ni = arith.remui %t, %ntn : index
      %m0 = arith.muli %mi, %cTM : index
      %n0 = arith.muli %ni, %cTN : index
      %mr = arith.subi %cM, %m0 : index
      %m = arith.minui %mr, %cTM : index
      %nr = arith.subi %cN, %n0 : index
      %n = arith.minui %nr, %cTN : index
      npu.wait_flag "FIX" -> "M" [0]
{kloop}
      npu.set_flag "M" -> "FIX" [0]
      npu.wait_flag "M" -> "FIX" [0]
      npu.wait_flag "MTE3" -> "FIX" [0]
      npu.dma %c[0, 0] [%m, %n] -> %u[0, 0] [%m, %n] : {cbuf} -> !npu.buffer<{tm}x{tn}xf32, ub>
      npu.set_flag "FIX" -> "M" [0]
      npu.set_flag "FIX" -> "MTE3" [0]
      npu.wait_flag "FIX" -> "MTE3" [0]
      npu.dma %u[0, 0] [%m, %n] -> %C[%m0, %n0] [%m, %n] : !npu.buffer<{tm}x{tn}xf32, ub> -> !npu.buffer<MxNxf32, hbm>
      npu.set_flag "MTE3" -> "FIX" [0]
    }}
{epi}
    npu.wait_flag "FIX" -> "M" [0]
    npu.wait_flag "MTE3" -> "FIX" [0]
  }}
  func.return %C : !npu.buffer<MxNxf32, hbm>
}}
"""
    return text.replace("MxK", f"{m}x{k}").replace("KxN", f"{k}x{n}").replace("MxN", f"{m}x{n}")


def _ew_tile(p: int, t: str, tr: int, tc: int, dt: str) -> str:
    ub = f"!npu.buffer<{tr}x{tc}x{dt}, ub>"
    hbm = f"!npu.buffer<RxCx{dt}, hbm>"
    return f"""
        %ri{p} = arith.divui {t}, %ntc : index
        %ci{p} = arith.remui {t}, %ntc : index
        %r0{p} = arith.muli %ri{p}, %cTR : index
        %c0{p} = arith.muli %ci{p}, %cTC : index
        %rr{p} = arith.subi %cR, %r0{p} : index
        %r{p} = arith.minui %rr{p}, %cTR : index
        %cr{p} = arith.subi %cC, %c0{p} : index
        %cc{p} = arith.minui %cr{p}, %cTC : index
        npu.wait_flag "V" -> "MTE2" [{p}]
        npu.dma %X[%r0{p}, %c0{p}] [%r{p}, %cc{p}] -> %x{p}[0, 0] [%r{p}, %cc{p}] : {hbm} -> {ub}
        npu.dma %Y[%r0{p}, %c0{p}] [%r{p}, %cc{p}] -> %y{p}[0, 0] [%r{p}, %cc{p}] : {hbm} -> {ub}
        npu.set_flag "MTE2" -> "V" [{p}]
        npu.wait_flag "MTE2" -> "V" [{p}]
        npu.wait_flag "MTE3" -> "V" [{p}]
        npu.vec_add %x{p}, %y{p} -> %z{p} : {ub}, {ub} -> {ub}
        npu.vec_relu %z{p} -> %z{p} : {ub} -> {ub}
        npu.set_flag "V" -> "MTE2" [{p}]
        npu.set_flag "V" -> "MTE3" [{p}]
        npu.wait_flag "V" -> "MTE3" [{p}]
        npu.dma %z{p}[0, 0] [%r{p}, %cc{p}] -> %Z[%r0{p}, %c0{p}] [%r{p}, %cc{p}] : {ub} -> {hbm}
        npu.set_flag "MTE3" -> "V" [{p}]"""


def add_relu_program(
    rows: int, cols: int, tr: int, tc: int, block_dim: int, double: bool = False, dtype: str = "f32"
) -> str:
    """Z = relu(X + Y) over (tr, tc) tiles of UB, spread over blocks."""
    ntc, ntiles = -(-cols // tc), -(-rows // tr) * -(-cols // tc)
    pings = (0, 1) if double else (0,)
    ub = f"!npu.buffer<{tr}x{tc}x{dtype}, ub>"
    allocs = "\n".join(f"    %{v}{p} = npu.alloc : {ub}" for p in pings for v in "xyz")
    pro = "\n".join(
        f'    npu.set_flag "V" -> "MTE2" [{p}]\n    npu.set_flag "MTE3" -> "V" [{p}]' for p in pings
    )
    epi = pro.replace("set_flag", "wait_flag")
    step = len(pings)
    if double:
        body = f"""{_ew_tile(0, "%t", tr, tc, dtype)}
        %t1 = arith.addi %t, %bd : index
        %more = arith.cmpi ult, %t1, %ntiles : index
        scf.if %more {{{_ew_tile(1, "%t1", tr, tc, dtype)}
        }}"""
    else:
        body = _ew_tile(0, "%t", tr, tc, dtype)
    text = f"""
func.func @main(%X: !npu.buffer<RxCx{dtype}, hbm>, %Y: !npu.buffer<RxCx{dtype}, hbm>) -> !npu.buffer<RxCx{dtype}, hbm> {{
  %Z = npu.hbm_alloc : !npu.buffer<RxCx{dtype}, hbm>
  npu.kernel "add_relu" block_dim = {block_dim} attributes {{kind = "elementwise"}} {{
  ^bb0(%blk: index):
{_consts(cR=rows, cC=cols, cTR=tr, cTC=tc, ntc=ntc, ntiles=ntiles, bd=block_dim, stride=step * block_dim)}
{allocs}
{pro}
    scf.for %t = %blk to %ntiles step %stride {{{body}
    }}
{epi}
  }}
  func.return %Z : !npu.buffer<RxCx{dtype}, hbm>
}}
"""
    return text.replace("RxC", f"{rows}x{cols}")


def conv_program(
    c1: int, h: int, w: int, n: int, kernel: int, stride: int, pad: int, tm: int
) -> str:
    """One image (1, c1, h, w, 16) convolved with (c1*k*k*16, n) FRACTAL_Z weights: img2col + cube.

    The whole image and the weights sit in L1; output rows (pixels) go in tiles of tm.
    """
    ho = (h + 2 * pad - kernel) // stride + 1
    wo = (w + 2 * pad - kernel) // stride + 1
    kk = c1 * kernel * kernel * 16
    img = f"!npu.buffer<1x{c1}x{h}x{w}x16xf16, hbm, NC1HWC0>"
    img1 = f"!npu.buffer<1x{c1}x{h}x{w}x16xf16, l1, NC1HWC0>"
    wt, wt1 = f"!npu.buffer<{kk}x{n}xf16, hbm>", f"!npu.buffer<{kk}x{n}xf16, l1, FRACTAL_Z>"
    a0, b0 = (
        f"!npu.buffer<{tm}x{kk}xf16, l0a, FRACTAL_NZ>",
        f"!npu.buffer<{kk}x{n}xf16, l0b, FRACTAL_Z>",
    )
    c0, u = f"!npu.buffer<{tm}x{n}xf32, l0c, FRACTAL_NZ>", f"!npu.buffer<{tm}x{n}xf32, ub>"
    out = f"!npu.buffer<{ho * wo}x{n}xf32, hbm>"
    return f"""
func.func @main(%x: {img}, %wt: {wt}) -> {out} {{
  %y = npu.hbm_alloc : {out}
  npu.kernel "conv" block_dim = 1 attributes {{kind = "conv2d"}} {{
  ^bb0(%blk: index):
{_consts(c0=0, cM=ho * wo, cTM=tm)}
    %x1 = npu.alloc : {img1}
    %w1 = npu.alloc : {wt1}
    %a = npu.alloc : {a0}
    %b = npu.alloc : {b0}
    %c = npu.alloc : {c0}
    %u = npu.alloc : {u}
    npu.dma %x[0, 0, 0, 0, 0] [1, {c1}, {h}, {w}, 16] -> %x1[0, 0, 0, 0, 0] [1, {c1}, {h}, {w}, 16] : {img} -> {img1}
    npu.dma %wt[0, 0] [{kk}, {n}] -> %w1[0, 0] [{kk}, {n}] : {wt} -> {wt1}
    npu.set_flag "MTE2" -> "MTE1" [0]
    npu.wait_flag "MTE2" -> "MTE1" [0]
    npu.dma %w1[0, 0] [{kk}, {n}] -> %b[0, 0] [{kk}, {n}] : {wt1} -> {b0}
    npu.set_flag "M" -> "MTE1" [0]
    npu.set_flag "FIX" -> "M" [0]
    npu.set_flag "MTE3" -> "FIX" [0]
    scf.for %m0 = %c0 to %cM step %cTM {{
      %mr = arith.subi %cM, %m0 : index
      %m = arith.minui %mr, %cTM : index
      npu.wait_flag "M" -> "MTE1" [0]
      npu.img2col %x1[%m0, 0] -> %a[%m, {kk}] {{kernel = array<i64: {kernel}, {kernel}>, strides = array<i64: {stride}, {stride}>, pads = array<i64: {pad}, {pad}, {pad}, {pad}>, dilations = array<i64: 1, 1>}} : {img1} -> {a0}
      npu.set_flag "MTE1" -> "M" [0]
      npu.wait_flag "MTE1" -> "M" [0]
      npu.wait_flag "FIX" -> "M" [0]
      %false = arith.constant false
      npu.mmad %a, %b -> %c [%m, {n}, {kk}] accumulate(%false) : {a0}, {b0} -> {c0}
      npu.set_flag "M" -> "MTE1" [0]
      npu.set_flag "M" -> "FIX" [0]
      npu.wait_flag "M" -> "FIX" [0]
      npu.wait_flag "MTE3" -> "FIX" [0]
      npu.dma %c[0, 0] [%m, {n}] -> %u[0, 0] [%m, {n}] : {c0} -> {u}
      npu.set_flag "FIX" -> "M" [0]
      npu.set_flag "FIX" -> "MTE3" [0]
      npu.wait_flag "FIX" -> "MTE3" [0]
      npu.dma %u[0, 0] [%m, {n}] -> %y[%m0, 0] [%m, {n}] : {u} -> {out}
      npu.set_flag "MTE3" -> "FIX" [0]
    }}
    npu.wait_flag "M" -> "MTE1" [0]
    npu.wait_flag "FIX" -> "M" [0]
    npu.wait_flag "MTE3" -> "FIX" [0]
  }}
  func.return %y : {out}
}}
"""
