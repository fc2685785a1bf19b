"""Casts folded into the vector kernels next to them (part of `cast-cube-to-fp16`).

A layer norm, softmax, pool or reduce kernel reads and writes one dtype, so the f16 <-> f32
casts that allow_fp32_to_fp16 puts between it and a cube kernel would be kernels of their
own. A casting kernel (`gedialects.kernel.casting`) takes them instead: its `cast_to`
makes it compute in f32 and store in `cast_to`. The folds are exact: the kernel computes
on the same f32 values the unfused graph did (an f16 input widened exactly) and rounds its
result once, where the cast did.
"""

from __future__ import annotations

from xdsl.dialects.builtin import f16, f32
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from gedialects.ge import ops as ge
from gedialects.ge.types import element_of, shape_of, tensor
from gedialects.kernel.casting import CastingKernelOp
from passes.matching import only_user


def _with_cast(op: CastingKernelOp, operands: list[SSAValue], to: object) -> Operation:
    """`op` on `operands` with `cast_to = to`, its result in `to`."""
    props = {**op.properties, "cast_to": to}
    return op.create(
        operands=operands,
        result_types=[tensor(shape_of(r.type), to) for r in op.results],
        properties=props,
        attributes=dict(op.attributes),
    )


def _is_widening(op: Operation | None) -> bool:
    return isinstance(op, ge.CastOp) and element_of(op.input.type) == f16 and op.to == f32


class FoldResultCast(RewritePattern):
    """cast(k(x) : f32 -> f16) -> k(x) {cast_to = f16}, k a casting kernel the cast alone reads."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ge.CastOp, rewriter: PatternRewriter, /) -> None:
        kernel = op.input.owner
        if op.to != f16 or not isinstance(kernel, CastingKernelOp) or len(kernel.results) != 1:
            return
        if element_of(op.input.type) != f32 or only_user(op.input) is not op:
            return
        folded = _with_cast(kernel, list(kernel.operands), f16)
        rewriter.replace(op, [folded], folded.results)
        rewriter.erase(kernel)


class FoldInputCast(RewritePattern):
    """k(cast(x : f16 -> f32)) -> k(x) {cast_to = f32} (or the kernel's own f16 cast_to)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, CastingKernelOp) or not op.operands:
            return
        cast = op.operands[0].owner
        if not _is_widening(cast) or _exact_in_f16(op):
            return
        assert isinstance(cast, ge.CastOp)
        to = op.cast_to if op.cast_to is not None else f32
        folded = _with_cast(op, [cast.input, *op.operands[1:]], to)
        rewriter.replace(op, [folded], folded.results)


def _exact_in_f16(op: Operation) -> bool:
    """A max pool: `SinkCast` runs it on the f16 data itself (half the bytes both ways)."""
    kind = op.properties.get("kind")
    return kind is not None and getattr(kind, "data", None) == "max"


class HoistCast(RewritePattern):
    """cast(move(y) : f32 -> f16) -> move(cast(y)), when the cast alone reads the move:
    moving is exact in f16, so the move carries half the bytes and the cast meets y's
    producer (a casting kernel takes it, an elementwise one merges it)."""

    def __init__(self, moves: tuple[type[Operation], ...]):
        super().__init__()
        self.moves = moves

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ge.CastOp, rewriter: PatternRewriter, /) -> None:
        move = op.input.owner
        if op.to != f16 or not isinstance(move, self.moves) or len(move.results) != 1:
            return
        floats = [v for v in move.operands if element_of(v.type) == f32]
        if element_of(op.input.type) != f32 or len(floats) != 1 or only_user(op.input) is not op:
            return
        narrowed = ge.CastOp(floats[0], to=f16)
        operands = [narrowed.output if v is floats[0] else v for v in move.operands]
        moved = move.create(
            operands=operands,
            result_types=[tensor(shape_of(op.output.type), f16)],
            properties=dict(move.properties),
            attributes=dict(move.attributes),
        )
        rewriter.replace(op, [narrowed, moved], moved.results)
        rewriter.erase(move)


__all__ = ["FoldInputCast", "FoldResultCast", "HoistCast"]
