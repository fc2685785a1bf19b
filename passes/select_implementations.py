"""`select-implementations`: choose each kernel's implementation by modeled cost on a target.

Pre: `kernel` ops on tensors. Post: every `kernel.conv2d` has `algorithm` set to the
cheapest algorithm that accepts its geometry (of im2col and direct for a conv of
integer-valued operands, `passes.integer_values`: a quantized conv stays exact), and a
discardable `ge.costs` dictionary with the modeled cycles of every candidate (the report
shows why); every `kernel.matmul` has
`ge.tiling` (tm, tn, tk, block_dim) chosen by the lowering's own tiling cost model; every
`kernel.attention` has `algorithm` "fused" or "unfused" by modeled cycles, with both in
`ge.costs` (`runtime/attention_cost.py`); an unfused one's layouts (`query_perm` ...) are
transpose kernels again (`separate_layouts`).
`conv-algorithm=NAME` forces one algorithm everywhere and fails, naming the kernel, where
it cannot take the geometry; a kernel whose `algorithm` is already set keeps it (per-kernel
forcing). `autotune=true` measures the candidates on the npu interpreter instead (see
`passes/autotune.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DictionaryAttr,
    FloatAttr,
    ModuleOp,
    StringAttr,
    f64,
    i64,
)
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from gedialects.errors import GeError, UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from gedialects.kernel.conv_algorithms import ALGORITHMS, ConvGeometry
from gedialects.kernel.mirrored import ReshapeKernelOp, TransposeKernelOp
from gedialects.kernel.ops import AttentionKernelOp, Conv2DKernelOp, MatMulKernelOp
from passes.integer_values import IntegerValues
from passes.matching import moves_only_unit_axes
from runtime.conv_cost import ConvCost, candidate_costs
from runtime.targets import Target, load_target

TRANSPOSE = "ge.transpose"

COSTS_ATTR = "ge.costs"
TILING_ATTR = "ge.tiling"


def conv_geometry(op: Conv2DKernelOp) -> ConvGeometry:
    return ConvGeometry.of(
        shape_of(op.input.type),
        shape_of(op.weight.type),
        op.ints("strides"),
        op.ints("pads"),
        op.ints("dilations"),
        op.get_int("groups"),
    )


def _costs_attr(costs: list[ConvCost]) -> DictionaryAttr:
    return DictionaryAttr({c.algorithm: FloatAttr(round(c.cycles, 1), f64) for c in costs})


FFT_GAIN = 0.75
"""The FFT algorithm is taken only where it is estimated at most this share of the best
direct-summing one (im2col, direct). It sums in a transformed basis, so its f32 rounding,
~1e-9 of the output's scale, lands on outputs that are exactly 0 where a direct sum keeps
them 0 (ONNX's `test_convtranspose_3d`: 1.6e-6 against an atol of 1e-7 on a tiny conv
estimated 100 cycles by FFT, 125 by im2col), and its estimate is the least certain
(`conv_cost.FFT_LOWERED`: the lowering runs 1.6-1.9x the model)."""
DIRECT_SUMS = ("im2col", "direct")


def _preferred(costs: list[ConvCost]) -> str:
    """The cheapest algorithm (`costs` are sorted), unless it is FFT and a direct-summing one
    is within `FFT_GAIN` of it."""
    best = costs[0]
    if best.algorithm != "fft":
        return best.algorithm
    exact = [c for c in costs if c.algorithm in DIRECT_SUMS]
    if exact and best.cycles > FFT_GAIN * exact[0].cycles:
        return exact[0].algorithm
    return best.algorithm


def constant_filters(op: Conv2DKernelOp) -> bool:
    """Whether `op`'s filters are a constant the lowering lays out at compile time (eager
    mode passes every weight as an argument)."""
    return isinstance(op.weight.owner, ConstantOp)


def conv_candidates(
    g: ConvGeometry, target: Target, dtype: np.dtype, exact: bool, laid: bool
) -> list[ConvCost]:
    """The algorithms that plan geometry `g`, cheapest first: of im2col and direct only when
    the sums must stay `exact`; `laid`: constant filters (`constant_filters`)."""
    costs = candidate_costs(g, target, dtype, laid)
    return [c for c in costs if c.algorithm in DIRECT_SUMS] if exact else costs


def expected_cycles(
    g: ConvGeometry, target: Target, dtype: np.dtype, exact: bool, laid: bool = True
) -> float:
    """The modeled cycles of the algorithm `select_conv` would choose for geometry `g` by
    cost (inf when no lowering plans it): what a rewrite that reshapes a conv compares."""
    costs = conv_candidates(g, target, dtype, exact, laid)
    if not costs:
        return float("inf")
    chosen = _preferred(costs)
    return next(c.cycles for c in costs if c.algorithm == chosen)


def select_conv(
    op: Conv2DKernelOp,
    target: Target,
    forced: str | None,
    measured: dict | None = None,
    exact: bool = False,
) -> None:
    """`exact`: the conv is integer arithmetic (a quantized conv's centred operands), which
    only the direct-summing algorithms keep exact; Winograd's and FFT's transforms round."""
    geometry = conv_geometry(op)
    dtype = to_numpy_dtype(element_of(op.input.type))
    costs = conv_candidates(geometry, target, np.dtype(dtype), exact, constant_filters(op))
    if measured is not None:
        costs = sorted(
            (
                ConvCost(c.algorithm, measured[c.algorithm])
                for c in costs
                if c.algorithm in measured
            ),
            key=lambda c: c.cycles,
        )
    op.attributes[COSTS_ATTR] = _costs_attr(costs)
    chosen = forced or (op.algorithm.data if op.algorithm is not None else None)
    if chosen is None and costs:
        chosen = _preferred(costs)
    elif chosen is None:  # exact, and no direct-summing lowering plans the shape: the one
        # that accepts its geometry, which the npu level will refuse and run by reference
        fits = [a for a in DIRECT_SUMS if ALGORITHMS[a].unsupported_reason(geometry) is None]
        chosen = (fits or list(DIRECT_SUMS))[0]
    if chosen not in ALGORITHMS:
        raise UnsupportedError(f"unknown conv algorithm '{chosen}'; choose from {list(ALGORITHMS)}")
    reason = ALGORITHMS[chosen].unsupported_reason(geometry)
    if reason is not None:
        raise UnsupportedError(
            f"conv algorithm '{chosen}' cannot run kernel.conv2d {geometry.kh}x{geometry.kw} "
            f"stride {list(geometry.strides)} dilation {list(geometry.dilations)}: {reason}"
        )
    op.properties["algorithm"] = StringAttr(chosen)


def select_matmul(op: MatMulKernelOp, target: Target) -> None:
    from lowering.tiling import choose_matmul_tile

    a, b = shape_of(op.lhs.type), shape_of(op.rhs.type)
    if len(a) < 2 or len(b) < 2:
        return  # matrix-vector products are lowered without cube tiling
    m, k = (a[-1], a[-2]) if op.get_flag("transpose_a") else (a[-2], a[-1])
    n = b[-2] if op.get_flag("transpose_b") else b[-1]
    if 0 in (m, n, k):
        return  # nothing to tile (an empty batch, a zero-length K): lowered without it
    item = np.dtype(to_numpy_dtype(element_of(op.output.type))).itemsize
    try:
        tiling = choose_matmul_tile(target, m, n, k, item)
    except UnsupportedError:
        return  # a target too small for any tile: its lowering refuses it, naming the sizes
    values = [tiling.tm, tiling.tn, tiling.tk, tiling.blocks]
    op.attributes[TILING_ATTR] = DenseArrayBase.from_list(i64, values)


def select_attention(op: AttentionKernelOp, target: Target) -> None:
    """`algorithm` "fused" or "unfused" by modeled cycles (a preset one is kept), with the
    cycles of both in `ge.costs`."""
    from lowering.lower_attention import attention_costs

    costs = attention_costs(op, target)
    op.attributes[COSTS_ATTR] = DictionaryAttr(
        {name: FloatAttr(round(cycles, 1), f64) for name, cycles in sorted(costs.items())}
    )
    if op.algorithm is None:
        op.properties["algorithm"] = StringAttr(min(costs, key=costs.__getitem__))


def separate_layouts(op: AttentionKernelOp) -> None:
    """An unfused attention's layouts as transpose kernels again: the unfused form would
    transpose Q, V and O inside its own sequence of kernels, where the scheduler cannot run
    them beside other work (Q's and V's transposes are independent); as kernels of their
    own they are scheduled like any."""
    perms = {n: p for n in op.PERMS if (p := op.perm(n)) is not None}
    if not perms or op.algorithm is None or op.algorithm.data != "unfused":
        return
    rewriter, names = Rewriter(), list(op.fused_names)
    operands = list(op.operands)
    for index, key in op.OPERAND_PERMS:
        if key in perms:
            moved = _relayout(operands[index], perms[key])
            rewriter.insert_op(moved, InsertPoint.before(op))
            operands[index] = moved.results[0]
            _drop(names, names.index)  # the first: absorbed inputs lead the provenance
    if "output_perm" in perms:
        _drop(names, lambda name: len(names) - 1 - names[::-1].index(name))  # the last
    props = {n: a for n, a in op.properties.items() if n not in perms and n != "fused_from"}
    plain = AttentionKernelOp(*operands, fused_from=names, **props)
    plain.attributes.update(op.attributes)
    result = plain.output
    rewriter.insert_op(plain, InsertPoint.before(op))
    if "output_perm" in perms:
        back = _relayout(result, perms["output_perm"])
        rewriter.insert_op(back, InsertPoint.before(op))
        result = back.results[0]
    result.name_hint = op.output.name_hint
    rewriter.replace_op(op, [], [result])


def _relayout(value: SSAValue, perm: tuple[int, ...]) -> Operation:
    """transpose(value, perm) as a kernel: a view when the perm moves only unit axes (a
    decoding step's query rows, `fuse-grouped-attention`), else a copy."""
    shape = shape_of(value.type)
    if moves_only_unit_axes(shape, perm):
        return ReshapeKernelOp(value, shape=[shape[p] for p in perm], fused_from=[TRANSPOSE])
    return TransposeKernelOp(value, perm=list(perm), fused_from=[TRANSPOSE])


def _drop(names: list[str], where) -> None:  # noqa: ANN001
    """Remove the transpose at `where(TRANSPOSE)` from a kernel's provenance, if it has one
    and keeps another name (a hand-written kernel may not record its layouts' transposes)."""
    if TRANSPOSE in names and len(names) > 1:
        del names[where(TRANSPOSE)]


@dataclass(frozen=True)
class SelectImplementations(ModulePass):
    """Choose each kernel's implementation (conv algorithm, matmul tiling) by modeled cost."""

    name = "select-implementations"

    target: str = "ascend910a"
    conv_algorithm: str | None = None
    autotune: bool = False
    autotune_cache: str | None = None

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.conv_algorithm is not None and self.conv_algorithm not in ALGORITHMS:
            known = ", ".join(ALGORITHMS)
            raise GeError(f"unknown conv-algorithm '{self.conv_algorithm}': one of {known}")
        target = load_target(self.target)
        tuner = None
        if self.autotune:
            from passes.autotune import Autotuner

            tuner = Autotuner(target, self.autotune_cache)
        integer = IntegerValues(op)
        for kernel in op.walk():
            if isinstance(kernel, Conv2DKernelOp):
                measured = tuner.measure_conv(conv_geometry(kernel), kernel) if tuner else None
                exact = integer.integer_cube(kernel)
                select_conv(kernel, target, self.conv_algorithm, measured, exact)
            elif isinstance(kernel, MatMulKernelOp):
                select_matmul(kernel, target)
            elif isinstance(kernel, AttentionKernelOp):
                select_attention(kernel, target)
        for kernel in [k for k in op.walk() if isinstance(k, AttentionKernelOp)]:
            separate_layouts(kernel)
