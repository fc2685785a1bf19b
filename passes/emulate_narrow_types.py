"""`emulate-narrow-types`: compute on bfloat16, float8, float4 and 2/4-bit integers in a
wider type, as MLIR's `arith-emulate-unsupported-floats` and `emulate-narrow-type` do.

Those types (`gedialects.ge.types.NARROW_COMPUTE_TYPES`) are storage formats: ONNX graphs
carry them at their inputs and outputs, in weights, and around Cast / QuantizeLinear /
DequantizeLinear. Every other op on them becomes the same op on values widened by
`ge.cast` (bf16/f8/f4 -> f32, i4/i2 -> i8, ui4/ui2 -> ui8), its results narrowed back by
`ge.cast`. Widening is exact, so data movement is unchanged, and a narrow -> wide -> narrow
pair is never folded (`simplify` folds only casts whose middle type holds every value of the
source).

Rounding between ops: by default a float result one emulated op passes to another stays in
f32 (XLA's `xla_allow_excess_precision`, on by default there too): a chain of bf16 ops (an
attention, a norm written out in ops) rounds where its values leave the chain (a graph
output, a cast, an op that keeps narrow types), as fused kernels on bf16 hardware accumulate
and compute in f32. `strict=true` rounds every op's result to its declared type, as numpy
(ml_dtypes) does op by op. Integer results always wrap to their declared width, which is
their meaning, not a rounding.

After the pass, narrow types occur only at `ge.cast`, `ge.constant` and the function's
arguments and results, which is all the interpreter, the passes and the npu lowering see.
An op with regions that passes narrow values through them is refused: ge's control flow
carries standard types only.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from gedialects.errors import UnsupportedError
from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import compute_type, element_of, is_float, is_narrow, shape_of, tensor

_KEEPS_NARROW = (ops.CastOp, ConstantOp, func.ReturnOp, func.FuncOp, ModuleOp)


def _narrow(t: Attribute) -> bool:
    return isinstance(t, TensorType) and is_narrow(element_of(t))


_LOWER_DIALECTS = ("kernel.", "npu.")
"""Ops made after the pass (fusion, lowering): a kernel that fused a widening cast takes the
narrow value itself, its body holding the cast."""


def needs_emulation(op: Operation) -> bool:
    """Whether `op` computes on a narrow type (is neither a cast nor a constant, nor a kernel
    made from emulated ops)."""
    if isinstance(op, _KEEPS_NARROW) or op.name.startswith(_LOWER_DIALECTS):
        return False
    return any(_narrow(v.type) for v in op.operands) or any(_narrow(r.type) for r in op.results)


def _widened(t: TensorType) -> TensorType:
    return tensor(shape_of(t), compute_type(element_of(t)))


def _emulate(
    op: Operation,
    wide_of: dict[SSAValue, SSAValue],
    widened: dict[tuple[SSAValue, Block | None], SSAValue],
    excess: bool,
) -> None:
    """Rewrite `op` on widened operands. `wide_of`: the unrounded f32 value of a chain's
    rounded result (excess precision); `widened`: the cast already widening a value in a
    block."""
    if op.regions:
        raise UnsupportedError(
            f"'{op.name}' passes {_first_narrow(op)} values through its "
            "regions; ge computes narrow types only outside control flow"
        )
    rewriter = Rewriter()
    operands: list[SSAValue] = []
    block = op.parent_block()
    for value in op.operands:
        if value in wide_of:
            value = wide_of[value]
        elif (value, block) in widened:  # widening is exact: one cast serves the block
            value = widened[value, block]
        elif _narrow(value.type):
            cast = ops.CastOp(value, to=compute_type(element_of(value.type)))
            rewriter.insert_op(cast, InsertPoint.before(op))
            widened[value, block] = value = cast.output
        operands.append(value)
    wide = op.create(
        operands=operands,
        result_types=[_widened(r.type) if _narrow(r.type) else r.type for r in op.results],
        properties=dict(op.properties),
        attributes=dict(op.attributes),
    )
    rewriter.insert_op(wide, InsertPoint.before(op))
    try:
        wide.verify()
    except Exception as error:  # the op's own rules: it means something else when wider
        rewriter.erase_op(wide)
        raise UnsupportedError(
            f"'{op.name}' on {_first_narrow(op)} cannot be computed in a wider type: {error}"
        ) from None
    replacements: list[SSAValue] = []
    for old, new in zip(op.results, wide.results, strict=True):
        if old.type != new.type:
            back = ops.CastOp(new, to=element_of(old.type))
            rewriter.insert_op(back, InsertPoint.before(op))
            if excess and is_float(element_of(old.type)):
                wide_of[back.output] = new
            new = back.output
        if old.name_hint:
            new.name_hint = old.name_hint
        replacements.append(new)
    rewriter.replace_op(op, [], replacements)


def _keeps_type(op: Operation) -> bool:
    """A cast of a narrow value to its own type (ONNX function bodies write them)."""
    return isinstance(op, ops.CastOp) and op.input.type == op.output.type and _narrow(op.input.type)


def _first_narrow(op: Operation) -> str:
    types = [v.type for v in op.operands] + [r.type for r in op.results]
    return str(next(element_of(t) for t in types if _narrow(t)))


def emulate_narrow_types(module: Operation, strict: bool = False) -> int:
    """Rewrite every op of `module` that computes on a narrow type; how many there were.
    `strict` rounds each op's float result to its type (else only where it leaves a chain
    of emulated ops)."""
    targets = [op for op in module.walk() if needs_emulation(op) or _keeps_type(op)]
    wide_of: dict[SSAValue, SSAValue] = {}
    widened: dict[tuple[SSAValue, Block | None], SSAValue] = {}
    emulated = 0
    for op in targets:
        if not isinstance(op, ops.CastOp):
            _emulate(op, wide_of, widened, excess=not strict)
            emulated += 1
        elif op.input in wide_of:  # the identity cast passes the unrounded value on
            wide_of[op.output] = wide_of[op.input]
    for narrowed in reversed(list(wide_of)):  # roundings no op outside the chains reads
        if not narrowed.uses:
            Rewriter.erase_op(narrowed.owner)  # type: ignore[arg-type]
    return emulated


@dataclass(frozen=True)
class EmulateNarrowTypes(ModulePass):
    """Compute ops on bf16 / float8 / float4 / 2- and 4-bit integers in f32 or 8-bit integers."""

    name = "emulate-narrow-types"
    strict: bool = False
    """Round every op's float result to its declared type (default: where a chain ends)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        emulate_narrow_types(op, self.strict)
