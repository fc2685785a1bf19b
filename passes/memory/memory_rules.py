"""What each op means for memory: is it a view, may it write in place, does it need a workspace.

Rules are looked up along the op class's MRO, so one rule covers a family (every `ge`
unary op). Other dialects either register rules here (`register_view_rule`,
`register_inplace_rule`, `register_workspace_rule`) or give their op classes methods of
the same meaning: `memory_view_offsets(self) -> list[int] | None`,
`inplace_operands(self) -> Sequence[int]`, `workspace_bytes(self) -> int`.

- A view's results reinterpret contiguous bytes of operand 0: the rule gives each result's
  byte offset into it (reshape: 0; a slice of whole rows: where the rows start).
- A placed concat is the other way round: its operands' producers write them into its
  result (`placed_offsets`: each operand's byte offset there), so it moves nothing.
- In-place candidates are operand indices an elementwise kernel may overwrite with its
  result (the liveness analysis checks the operand dies there and has the result's layout):
  the input of a `ge` elementwise op or `kernel.elementwise`, the residual of a conv whose
  epilogue adds it, the residual or full-size bias of a matmul.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from xdsl.ir import Operation
from xdsl.traits import ConstantLike, IsTerminator

from gedialects import kernel
from gedialects.ge import ops as ge
from gedialects.ge.ops import slice_extent
from passes.memory.sizes import dtype_of, shape_of

ViewRule = Callable[[Operation], list[int] | None]
InPlaceRule = Callable[[Operation], Sequence[int]]
WorkspaceRule = Callable[[Operation], int]

VIEW_RULES: dict[type, ViewRule] = {}
INPLACE_RULES: dict[type, InPlaceRule] = {}
WORKSPACE_RULES: dict[type, WorkspaceRule] = {}
ELEMENTWISE_READS: dict[type, bool] = {}


def register_view_rule(op_type: type, rule: ViewRule) -> None:
    VIEW_RULES[op_type] = rule


def register_inplace_rule(op_type: type, rule: InPlaceRule, elementwise: bool = True) -> None:
    """`elementwise`: every operand is read at the result's index (so an operand may also
    appear twice); False for kernels that read some operand at other places (a conv's
    input), which then must not share the overwritten buffer."""
    INPLACE_RULES[op_type] = rule
    ELEMENTWISE_READS[op_type] = elementwise


def register_workspace_rule(op_type: type, rule: WorkspaceRule) -> None:
    WORKSPACE_RULES[op_type] = rule


def _lookup(table: dict[type, Callable], op: Operation) -> Callable | None:
    return _lookup_type(table, type(op))


def _lookup_type(table: dict[type, Callable], op_type: type) -> Callable | None:
    for cls in op_type.__mro__:
        if cls in table:
            return table[cls]
    return None


def view_offsets(op: Operation) -> list[int] | None:
    """Byte offsets of the results into operand 0 if `op` is a view, else None."""
    if hasattr(op, "memory_view_offsets"):
        return op.memory_view_offsets()
    rule = _lookup(VIEW_RULES, op)
    return rule(op) if rule is not None else None


def placed_offsets(op: Operation) -> list[int] | None:
    """Byte offsets in its result of each operand of a concat whose producers write their
    results there (GE's no-task concat), else None: the pieces are contiguous (every axis
    before the concat axis is 1), and each operand is the one result of its own top-level
    kernel, read otherwise only by kernels, which read it there (a view's, a constant's or
    an argument's bytes are elsewhere; a view of it, another concat or the return would
    need it apart)."""
    if unplaced_operands(op) != []:
        return None
    shape = shape_of(op.results[0].type)
    axis = op.get_int("axis") % len(shape)
    itemsize = dtype_of(op.results[0].type).itemsize
    inner = math.prod(shape[axis + 1 :])
    offsets, start = [], 0
    for value in op.operands:
        offsets.append(start * inner * itemsize)
        start += shape_of(value.type)[axis]
    return offsets


def unplaced_operands(op: Operation) -> list[int] | None:
    """For a concat of contiguous pieces, the indices of the operands its producers cannot
    write in place (`placed_offsets`); None for any other op."""
    if not _is_concat(op):
        return None
    shape = shape_of(op.results[0].type)
    axis = op.get_int("axis") % len(shape) if shape else 0
    if not shape or any(d != 1 for d in shape[:axis]):
        return None
    operands = list(op.operands)
    return [i for i, v in enumerate(operands) if operands.count(v) > 1 or not _placeable(op, v)]


def _placeable(concat: Operation, value) -> bool:  # noqa: ANN001
    """Whether `value`'s producer can write it into `concat`'s result. Its other readers,
    kernels of the same block, then read it there (the buffer lives until the last of
    them): a UNet's skip feature, read by the next encoder stage and by the decoder's
    concat, YOLO's SPPF, whose pools read the pieces before them."""
    owner = value.owner
    if not isinstance(owner, Operation) or owner.parent is not concat.parent:
        return False
    if owner.regions and not isinstance(owner, kernel.KernelOp):
        return False  # control flow (scf): its results are its regions' yields
    if len(owner.results) != 1:
        return False
    if not all(_reads_in_place(use.operation, concat) for use in value.uses):
        return False
    if owner.has_trait(ConstantLike) or view_offsets(owner) is not None:
        return False
    return unplaced_operands(owner) != []  # not itself a placed concat (one level)


def _reads_in_place(user: Operation, concat: Operation) -> bool:
    """Whether `user` may read a piece of `concat` from its result: the concat itself, or a
    kernel of its block (not a view, whose own alias would point at the piece's buffer; not
    another concat, which might place it too; not the function's return)."""
    if user is concat:
        return True
    if user.parent is not concat.parent or user.has_trait(IsTerminator):
        return False
    return view_offsets(user) is None and not _is_concat(user)


def _is_concat(op: Operation) -> bool:
    """A `ge.concat` or the kernel that mirrors it."""
    return isinstance(op, ge.ConcatOp) or getattr(op, "GE_OP", None) is ge.ConcatOp


def inplace_operands(op: Operation) -> Sequence[int]:
    """Operands the result may overwrite, in order of preference."""
    if hasattr(op, "inplace_operands"):
        return op.inplace_operands()
    rule = _lookup(INPLACE_RULES, op)
    return rule(op) if rule is not None else ()


def reads_elementwise(op: Operation) -> bool:
    """Whether every operand of `op` is read only at the index of the result it makes."""
    if isinstance(op, kernel.MirrorKernelOp):
        return bool(ELEMENTWISE_READS.get(_lookup_type_key(ELEMENTWISE_READS, op.GE_OP)))
    return bool(ELEMENTWISE_READS.get(_lookup_type_key(ELEMENTWISE_READS, type(op))))


def _lookup_type_key(table: dict[type, object], op_type: type) -> type | None:
    return next((cls for cls in op_type.__mro__ if cls in table), None)


def workspace_bytes(op: Operation) -> int:
    """Scratch HBM bytes the kernel needs while it runs (0: none)."""
    if hasattr(op, "workspace_bytes"):
        return int(op.workspace_bytes())
    rule = _lookup(WORKSPACE_RULES, op)
    return rule(op) if rule is not None else 0


def contiguous_offset(
    shape: Sequence[int], itemsize: int, box: Sequence[tuple[int, int, int]]
) -> int | None:
    """Byte offset of the region `box` (start, step, count per axis) if it is contiguous."""
    strides, run = [], itemsize
    for d in reversed(shape):
        strides.append(run)
        run *= d
    strides.reverse()
    expected = itemsize
    for axis in reversed(range(len(shape))):
        start, step, count = box[axis]
        if count == 0:
            return None
        if count > 1 and strides[axis] * step != expected:
            return None
        expected *= count
    return sum(start * stride for (start, _, _), stride in zip(box, strides))


def _slice_view(op: Operation) -> list[int] | None:
    shape = shape_of(op.operands[0].type)
    box = [(0, 1, d) for d in shape]
    for s, e, a, st in zip(op.ints("starts"), op.ints("ends"), op.ints("axes"), op.ints("steps")):
        start, _, count = slice_extent(s, e, st, shape[a % len(shape)])
        box[a % len(shape)] = (start, st, count)
    offset = contiguous_offset(shape, dtype_of(op.operands[0].type).itemsize, box)
    return None if offset is None else [offset]


def _split_view(op: Operation) -> list[int] | None:
    shape = shape_of(op.operands[0].type)
    axis = op.get_int("axis") % len(shape)
    offsets, start = [], 0
    for size in op.ints("sizes"):
        box = [(start, 1, size) if a == axis else (0, 1, d) for a, d in enumerate(shape)]
        offset = contiguous_offset(shape, dtype_of(op.operands[0].type).itemsize, box)
        if offset is None:
            return None
        offsets.append(offset)
        start += size
    return offsets


def _dropout_view(op: Operation) -> list[int] | None:
    return None if op.get_flag("is_training") else [0]


register_view_rule(ge.ReshapeOp, lambda op: [0])
register_view_rule(ge.SliceOp, _slice_view)
register_view_rule(ge.SplitOp, _split_view)
register_view_rule(ge.DropoutOp, _dropout_view)

register_inplace_rule(ge.UnaryOp, lambda op: (0,))
register_inplace_rule(ge.LRNOp, lambda op: (), elementwise=False)  # a window across channels
register_inplace_rule(ge.CastOp, lambda op: (0,))
register_inplace_rule(ge.BinaryOp, lambda op: (0, 1))
register_inplace_rule(ge.WhereOp, lambda op: (1, 2))
register_inplace_rule(ge.BatchNormOp, lambda op: (0,))
register_inplace_rule(ge.DropoutOp, lambda op: (0,))


# Kernels: a mirrored kernel means what its `ge` op means; fused epilogues that end in an
# elementwise step with a full-size operand (a residual, a full bias) may write over it.


def _mirrored(table: dict[type, Callable], default):
    def rule(op: Operation):
        found = _lookup_type(table, op.GE_OP)
        return found(op) if found is not None else default

    return rule


def _operand_index(op: Operation, name: str) -> tuple[int, ...]:
    value = getattr(op, name)
    return () if value is None else (list(op.operands).index(value),)


register_view_rule(kernel.MirrorKernelOp, _mirrored(VIEW_RULES, None))
register_inplace_rule(kernel.MirrorKernelOp, _mirrored(INPLACE_RULES, ()))
register_inplace_rule(kernel.ElementwiseOp, lambda op: tuple(range(len(op.operands))))
register_inplace_rule(
    kernel.Conv2DKernelOp, lambda op: _operand_index(op, "residual"), elementwise=False
)
register_inplace_rule(
    kernel.MatMulKernelOp,
    lambda op: tuple(i for n in ("residual", "multiplier", "bias") for i in _operand_index(op, n)),
    elementwise=False,
)
