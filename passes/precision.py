"""Precision modes (GE's `precision_mode`): fp16 on the cube, or fp16 everywhere.

`cast-cube-to-fp16` (allow_fp32_to_fp16) runs after fusion, on kernels: every cube kernel
(conv2d, matmul, attention) with f32 data takes f16 operands and gives an f16 result,
with `ge.cast`s around it; the cube still accumulates in f32 (L0C), as on Ascend, whose
cube has no f32 multiplier worth its name (f32 mmads run at half the fp16 rate). The
vector unit keeps f32. A widening cast sinks below kernels that only move elements
(transpose, reshape, slice, split, gather, max pool: exact in f16), so those move half the
bytes. A cast pair f16 -> f32 -> f16 is the identity (every f16 is an
f32) and folds away, so a cube kernel feeding another reads its f16 result directly.
A narrowing cast rises above such moves, and a cast next to a layer norm, softmax, pool or
reduce kernel becomes part of it (`passes.precision_casts`: the kernel's `cast_to`).
Weights become f16 constants when `fold-constants` runs next, and `fuse-elementwise`
merges the remaining casts into the neighbouring elementwise kernels, so activations
between the cube and the vector unit cross HBM as f16.

`cast-graph-to-fp16` (force_fp16) runs on `ge` before optimization: every f32 tensor of
the graph becomes f16 (constants converted, inputs cast on entry, outputs cast back to
f32 on exit), so the rest of the pipeline compiles an f16 model. Constants and inputs
saturate on the way (a finite value beyond +-65504 becomes +-65504, an infinity stays).

Quantized ops' integer arithmetic is not float arithmetic and keeps its type in both modes
(`passes.integer_values`): a cube kernel of integer-valued operands keeps f32, and
force_fp16 leaves the centred integers, their accumulation and the requantize in f32, as
Ascend's int8 cube path ignores precision_mode. An f16 sum would round an int32-sized
result (no f16 is within 512 of 2^20) and overflow past 65504.

Pre: cast-cube-to-fp16: kernels (after ge-optimize); cast-graph-to-fp16: any module.
Post: no cube kernel of float operands reads or writes f32; cast-graph-to-fp16: no f32
tensor inside a function but its arguments, their saturating entry casts, the exit casts
and quantized ops' integer arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, ModuleOp, TensorType, f16, f32
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter

from gedialects.errors import GeError
from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, tensor
from gedialects.kernel import mirrored as moves
from gedialects.kernel import ops as k
from passes.integer_values import IntegerValues, quantized_arithmetic
from passes.precision_casts import FoldInputCast, FoldResultCast, HoistCast

CUBE_KERNELS: tuple[type[Operation], ...] = (
    k.Conv2DKernelOp,
    k.MatMulKernelOp,
    k.AttentionKernelOp,
    ge.Conv2DOp,  # the unoptimized forms (compile with optimize=False)
    ge.MatMulOp,
)
"""Ops whose work is cube mmads (a kernel's epilogue rides on the same kernel)."""

EXACT_MOVES: tuple[type[Operation], ...] = (
    moves.TransposeKernelOp,
    moves.ReshapeKernelOp,
    moves.SliceKernelOp,
    moves.SplitKernelOp,
    moves.GatherKernelOp,
)
"""Kernels that only move elements: exact in any float type, so a cast may cross them."""


def is_f32_tensor(t: Attribute) -> bool:
    return isinstance(t, TensorType) and isinstance(element_of(t), Float32Type)


def as_f16(t: Attribute) -> Attribute:
    """`t` with f16 elements if it is an f32 tensor, else `t`."""
    return tensor(shape_of(t), f16) if is_f32_tensor(t) else t


def _cast(value: SSAValue, to: Attribute) -> ge.CastOp:
    return ge.CastOp(value, to=to)


class CastPair(RewritePattern):
    """cast(cast(x : f16 -> f32) -> f16) -> x: lossless, every f16 is exactly an f32."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ge.CastOp, rewriter: PatternRewriter, /) -> None:
        inner = op.input.owner
        if not isinstance(inner, ge.CastOp) or op.to != f16:
            return
        source = inner.input.type
        if isinstance(source, TensorType) and element_of(source) == f16 and inner.to == f32:
            rewriter.replace(op, [], [inner.input])


def _widened(value: SSAValue) -> bool:
    """Whether `value` is an f16 tensor cast to f32."""
    cast = value.owner
    return isinstance(cast, ge.CastOp) and element_of(cast.input.type) == f16 and cast.to == f32


def _is_exact_move(op: Operation) -> bool:
    if isinstance(op, k.PoolKernelOp):
        return op.get_str("kind") == "max"  # a max of f16 values is one of them
    return isinstance(op, EXACT_MOVES)


def _retyped_copy(op: Operation, operands: list[SSAValue]) -> tuple[Operation, list[ge.CastOp]]:
    """`op` on `operands`, its f32 results in f16, and casts of those back to f32."""
    copy = op.create(
        operands=operands,
        result_types=[as_f16(r.type) for r in op.results],
        properties=dict(op.properties),
        attributes=dict(op.attributes),
    )
    return copy, [_cast(r, f32) for r in copy.results]


class SinkCast(RewritePattern):
    """move(cast(x : f16 -> f32)) -> cast(move(x) : f16 -> f32): moving is exact in f16."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not _is_exact_move(op) or not all(is_f32_tensor(r.type) for r in op.results):
            return
        floats = [v for v in op.operands if is_f32_tensor(v.type)]
        if not floats or not all(_widened(v) for v in floats):
            return
        operands = [v.owner.input if v in floats else v for v in op.operands]
        moved, back = _retyped_copy(op, operands)
        rewriter.replace(op, [moved, *back], [b.output for b in back])


F16_MAX = 65504.0
"""The largest finite f16."""


def _narrowed(op: Operation, value: SSAValue) -> list[Operation]:
    """Ops giving `value` in f16; an attention mask saturates first: -1e30 or finfo.min
    would round to -inf and a fully masked row would turn to NaN, not uniform as in f32."""
    if isinstance(op, k.AttentionKernelOp) and value is op.mask:
        clip = ge.ClipOp(value, min=-F16_MAX, max=F16_MAX)
        return [clip, _cast(clip.output, f16)]
    return [_cast(value, f16)]


@dataclass
class CubeToFp16(RewritePattern):
    """cube(x : f32, w : f32, ...) -> cast(cube(cast(x), cast(w), ...) : f16) -> f32.
    Not on `integer`: cube kernels of integer-valued operands (a quantized matmul's
    accumulation, `passes.integer_values`), whose f16 result would round the integer."""

    integer: frozenset[Operation]

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, CUBE_KERNELS) or not any(is_f32_tensor(r.type) for r in op.results):
            return
        if op in self.integer:
            return
        operands = []
        for value in op.operands:
            if is_f32_tensor(value.type):
                narrowed = _narrowed(op, value)
                rewriter.insert(narrowed, InsertPoint.before(op))
                value = narrowed[-1].results[0]
            operands.append(value)
        cube, back = _retyped_copy(op, operands)
        rewriter.replace(op, [cube, *back], [b.output for b in back])


@dataclass(frozen=True)
class CastCubeToFp16(ModulePass):
    """allow_fp32_to_fp16: cube kernels on f16 operands, f32 accumulation, casts around."""

    name = "cast-cube-to-fp16"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        values = IntegerValues(op)
        integer = frozenset(
            cube
            for cube in op.walk()
            if isinstance(cube, CUBE_KERNELS) and values.integer_cube(cube)
        )
        walker = PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [CubeToFp16(integer), SinkCast(), CastPair(), HoistCast(EXACT_MOVES)]
                + [FoldResultCast(), FoldInputCast()]
            ),
            apply_recursively=True,
        )
        walker.rewrite_module(op)


def _retype_constant(op: ConstantOp) -> None:
    """An f32 constant's data as f16, in place of the old constant; finite values beyond
    f16's range saturate to +-65504 (`_saturated_f16`)."""
    if op.is_elided:
        raise GeError(
            "force_fp16: cannot convert an elided ge.constant to f16; restore its weights first"
        )
    data = op.to_numpy()
    saturated = np.where(np.isinf(data), data, np.clip(data, -F16_MAX, F16_MAX))
    Rewriter.replace_op(op, ConstantOp(saturated.astype(np.float16)))


def _saturated_f16(value: SSAValue) -> list[Operation]:
    """Ops giving `value` in f16 with a finite value beyond f16's range saturated to
    +-65504 (Ascend's cast in saturation mode), an infinity kept: a plain cast turns
    finfo(f32).min, the usual attention-mask fill, into -inf, and (1 - 1) * -inf is NaN."""
    magnitude = ge.AbsOp(value)
    inf = ConstantOp(np.array(np.inf, np.float32))
    infinite = ge.EqualOp(magnitude.output, inf.output)
    clip = ge.ClipOp(value, min=-F16_MAX, max=F16_MAX)
    kept = ge.WhereOp(infinite.output, value, clip.output)
    return [magnitude, inf, infinite, clip, kept, _cast(kept.output, f16)]


def _retype_block_args(block: Block) -> None:
    for arg in list(block.args):
        if is_f32_tensor(arg.type):
            Rewriter.replace_value_with_new_type(arg, as_f16(arg.type))


def _retype(op: Operation) -> None:
    """Every f32 tensor `op` defines (results, region arguments) in f16."""
    if isinstance(op, ConstantOp) and is_f32_tensor(op.output.type):
        _retype_constant(op)
        return
    if isinstance(op, ge.CastOp) and op.to == f32:
        op.properties["to"] = f16
    for result in list(op.results):
        if is_f32_tensor(result.type):
            Rewriter.replace_value_with_new_type(result, as_f16(result.type))
    for region in op.regions:
        for block in region.blocks:
            _retype_block_args(block)


def _cast_operands(op: Operation, source: Attribute, to: Attribute) -> None:
    """Cast `op`'s tensor operands of element type `source` to `to`, just before it."""
    for i, value in enumerate(op.operands):
        if isinstance(value.type, TensorType) and element_of(value.type) == source:
            cast = _cast(value, to)
            Rewriter.insert_op(cast, InsertPoint.before(op))
            op.operands = [*op.operands[:i], cast.output, *op.operands[i + 1 :]]


def _keeps_f32(op: Operation, integer: set[Operation]) -> bool:
    """Whether `op` stays in f32: quantized ops' integer arithmetic, and the constants
    only it reads (a zero point, a requantize multiplier)."""
    if op in integer:
        return True
    users = {use.operation for r in op.results for use in r.uses}
    return isinstance(op, ConstantOp) and bool(users) and users <= integer


def graph_to_fp16(fn: func.FuncOp) -> None:
    """force_fp16 on one function: f16 inside, f32 at its boundary and in the integer
    arithmetic of quantized ops (`passes.integer_values.quantized_arithmetic`), with casts
    where the two meet."""
    integer = quantized_arithmetic(fn)
    block = fn.body.block
    entry: set[Operation] = set()
    for arg in block.args:
        if is_f32_tensor(arg.type) and arg.uses:
            uses = list(arg.uses)
            narrowing = _saturated_f16(arg)
            Rewriter.insert_op(narrowing, InsertPoint.at_start(block))
            for use in uses:
                use.operation.operands[use.index] = narrowing[-1].results[0]
            entry.update(narrowing)
    for op in list(fn.body.walk()):
        if op in entry or isinstance(op, func.ReturnOp):
            continue
        if _keeps_f32(op, integer):
            if not isinstance(op, ge.CastOp):
                _cast_operands(op, f16, f32)
        else:
            _retype(op)
            if not isinstance(op, ge.CastOp):
                _cast_operands(op, f32, f16)
    ret = block.last_op
    assert isinstance(ret, func.ReturnOp)
    for i, (value, want) in enumerate(zip(ret.operands, fn.function_type.outputs.data)):
        if value.type != want and is_f32_tensor(want):
            cast = _cast(value, want.element_type)
            Rewriter.insert_op(cast, InsertPoint.before(ret))
            ret.operands = [*ret.operands[:i], cast.output, *ret.operands[i + 1 :]]


@dataclass(frozen=True)
class CastGraphToFp16(ModulePass):
    """force_fp16: every f32 tensor in f16; inputs cast on entry, outputs back on exit."""

    name = "cast-graph-to-fp16"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.walk():
            if isinstance(fn, func.FuncOp) and not fn.is_declaration:
                graph_to_fp16(fn)
