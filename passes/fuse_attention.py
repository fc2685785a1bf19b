"""`fuse-attention`: MatMul–Scale–(Mask Add)–Softmax–(Dropout)–MatMul as `kernel.attention`.

The pattern starts at the second matmul `P @ V` and walks back: an inference dropout,
a softmax over the last axis, an optional mask add whose mask broadcasts into the scores
without growing them, an optional scalar scale, and the first matmul `Q @ K'`, where a
transpose swapping K's last two dims becomes `key_transposed`. Each step may already be
a kernel (`kernel.softmax`, `kernel.matmul` with alpha / transpose_b). A masking select
`where(keep, scores, fill)` (GPT-2's causal mask, HF's `masked_fill`) becomes the additive
mask `where(keep, 0, fill)` (`where_mask.py` says when that is the same); torch's NaN guard
after the softmax moves to the kernel's output (`nan_guard.py`); positive scalar factors on Q
or K' (torch's SDPA export: sqrt(scale) on each) join the scale. Every intermediate
result must have exactly one user, so no work another consumer needs is dropped.
Pre: none. Post: no such chain of single-use values remains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from gedialects.errors import GeVerifyError
from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of
from gedialects.kernel import ops as k
from gedialects.kernel.base import provenance
from gedialects.kernel.builders import is_training_dropout
from passes.epilogues import rewrite_module
from passes.fold_batch_norm import erase_dead
from passes.fuse_matmul_scale import scalar_factor, swapped_input
from passes.matching import only_user
from passes.nan_guard import guard, nan_guarded
from passes.where_mask import additive_mask, multiplicative_mask

SCORES = ge.MulOp | ge.DivOp | ge.MatMulOp | k.MatMulKernelOp
"""What a mask is added to: the scaled or unscaled scores."""
MAX_MASKS = 2
"""Additive masks a chain may take (each walked past as an add before the softmax)."""


@dataclass
class Chain:
    """What the backward walk found: the ops to replace and the kernel's parameters."""

    ops: list[Operation] = field(default_factory=list)
    scale: float = 1.0
    softmax_scale: float = 1.0
    masks: list[SSAValue] = field(default_factory=list)
    """Additive masks, at most two (T5: position bias and padding mask), summed on fusion."""
    mask_ops: list[Operation] = field(default_factory=list)
    """Ops that compute the additive mask (from a select's condition, or a sum of two)."""
    alone: bool = False
    """A mask read from a select of a finite fill (`where_mask.MaskedScores.alone`): the
    chain may then take no other."""
    dropout: object | None = None
    nan_guard: list[Operation] = field(default_factory=list)
    """The NaN guard's ops on the probabilities (`nan_guard`): the output is guarded
    instead, by new ops, so the kernel does not claim these in its provenance."""

    def step(self, value: SSAValue, reader: Operation) -> Operation | None:
        """The private producer of `value` (read by `reader` alone), recorded."""
        owner = value.owner
        if not isinstance(owner, Operation) or only_user(value) is not reader:
            return None
        if sum(1 for o in reader.operands if o is value) != 1:
            return None
        self.ops.append(owner)
        return owner


def _softmax_input(chain: Chain, op: Operation | None) -> SSAValue | None:
    if (guarded := nan_guarded(op)) is not None:  # torch's SDPA export with a boolean mask
        probs, guard_ops = guarded
        chain.ops += guard_ops[1:]
        chain.nan_guard = guard_ops
        op = probs.owner if isinstance(probs.owner, ge.SoftmaxOp) else None
        if op is not None:
            chain.ops.append(op)
    if isinstance(op, ge.DropoutOp) and not is_training_dropout(op):
        chain.dropout = op.ratio
        op = chain.step(op.input, op)
    rank = len(shape_of(op.results[0].type)) if op is not None else 0
    if isinstance(op, ge.SoftmaxOp) and op.get_int("axis") % rank == rank - 1:
        return op.input
    if isinstance(op, k.SoftmaxKernelOp) and op.get_int("axis") % rank == rank - 1:
        chain.softmax_scale = op.get_float("scale")
        chain.dropout = chain.dropout or op.dropout_ratio
        return op.input
    return None


def _scores(chain: Chain, value: SSAValue, reader: Operation) -> Operation | None:
    """Walk mask add and scale back to the first matmul."""
    op = chain.step(value, reader)
    if isinstance(op, ge.AddOp) and len(chain.masks) < MAX_MASKS:
        for scores, mask in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            if scores.type == op.output.type and isinstance(scores.owner, Operation):
                if isinstance(scores.owner, SCORES | ge.AddOp | ge.WhereOp | ge.SubOp):
                    chain.masks.append(mask)
                    return _scores(chain, scores, op)
        return None
    if isinstance(op, ge.WhereOp | ge.SubOp) and len(chain.masks) < MAX_MASKS:
        found = additive_mask(op) if isinstance(op, ge.WhereOp) else multiplicative_mask(op)
        if found is None:
            return None
        chain.mask_ops += found.ops  # dropped again if the match fails
        scores = found.scores
        if not isinstance(scores.owner, Operation):
            return None
        chain.masks.append(found.mask)
        chain.alone |= found.alone
        reader = op if isinstance(op, ge.WhereOp) else op.lhs.owner  # scores * b - c
        if reader is not op:
            chain.ops.append(reader)
        return _scores(chain, scores, reader)
    if isinstance(op, ge.MulOp | ge.DivOp):
        if (scaled := _scaled(op)) is None:
            return None
        chain.scale *= scaled[1]
        return chain.step(scaled[0], op)
    return op


def _scaled(op: Operation | None) -> tuple[SSAValue, float] | None:
    """(x, c) when `op` is x * c, c * x or x / c (as 1 / c) with a splat c that does not
    grow x, else None."""
    if not isinstance(op, ge.MulOp | ge.DivOp):
        return None
    for x in (op.lhs, op.rhs):
        factor = scalar_factor(op, x)
        if factor is not None and x.type == op.output.type:
            return x, factor
    return None


def _unscaled(chain: Chain, value: SSAValue, reader: Operation) -> SSAValue:
    """x where `value` is x * c or x / c with a positive splat c read by `reader` alone: c
    joins the kernel's scale (torch's SDPA export scales Q and K' by sqrt(scale) each, which
    would keep Q's head-split transpose from the kernel). (a Q)(b K') = a b (Q K')."""
    scaled = _scaled(value.owner if isinstance(value.owner, Operation) else None)
    if scaled is None or scaled[1] <= 0 or chain.step(value, reader) is None:
        return value
    chain.scale *= scaled[1]
    return scaled[0]


class Attention(RewritePattern):
    """matmul(softmax(Q @ Kᵀ * c + mask), V) -> kernel.attention(Q, K, V, mask)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not _plain_matmul(op):
            return
        chain = Chain()
        if not self._fuse(op, chain, rewriter):
            for built in reversed(chain.mask_ops):  # a mask built for a match that failed:
                built.drop_all_references()  # its uses of the condition would dangle

    def _fuse(self, op: Operation, chain: Chain, rewriter: PatternRewriter) -> bool:
        """Whether `op` and its chain became one attention kernel."""
        probs, value = op.operands[0], op.operands[1]
        source = _softmax_input(chain, chain.step(probs, op))
        first = _scores(chain, source, chain.ops[-1]) if source is not None else None
        if first is None or not _plain_matmul(first, allow_scaled=True):
            return False
        if chain.masks and chain.softmax_scale != 1.0:
            return False
        if chain.alone and len(chain.masks) > 1:
            return False  # a select of a finite fill is its add only as the one mask
        query, key = (_unscaled(chain, x, first) for x in first.operands)
        transposed = isinstance(first, k.MatMulKernelOp) and first.get_flag("transpose_b")
        if isinstance(first, k.MatMulKernelOp):
            chain.scale *= first.get_float("alpha")
        if (source_key := swapped_input(key, first)) is not None:
            chain.ops.append(key.owner)
            key, transposed = source_key, not transposed
        props = {"scale": chain.scale * chain.softmax_scale, "key_transposed": transposed}
        if chain.dropout is not None:
            props["dropout_ratio"] = chain.dropout
        own = [o for o in [*reversed(chain.ops), op] if o not in chain.nan_guard]
        fused = [name for o in own for name in provenance(o)]
        mask = chain.masks[0] if chain.masks else None
        if len(chain.masks) == 2:
            both = ge.AddOp(*reversed(chain.masks))  # in the order the model adds them
            chain.mask_ops.append(both)
            mask = both.output
        try:
            attention = k.AttentionKernelOp(query, key, value, mask, fused_from=fused, **props)
        except GeVerifyError:  # shapes the kernel does not take
            return False
        if attention.output.type != op.results[0].type:
            attention.erase()
            return False
        after, result = guard(attention.output) if chain.nan_guard else ([], attention.output)
        rewriter.replace(op, [*chain.mask_ops, attention, *after], [result])
        erase_dead(rewriter, chain.ops)
        return True


def _plain_matmul(op: Operation, allow_scaled: bool = False) -> bool:
    """A matmul with nothing fused after it (alpha allowed for the first one)."""
    if isinstance(op, ge.MatMulOp):
        return all(len(shape_of(v.type)) >= 2 for v in op.operands)
    if not isinstance(op, k.MatMulKernelOp) or len(op.operands) > 2:
        return False  # a bias, residual or multiplier
    if op.activation is not None or op.get_flag("transpose_a"):
        return False
    return allow_scaled or (op.get_float("alpha") == 1.0 and not op.get_flag("transpose_b"))


@dataclass(frozen=True)
class FuseAttention(ModulePass):
    """Fuse MatMul-Scale-(Mask Add)-Softmax-(Dropout)-MatMul into one kernel.attention."""

    name = "fuse-attention"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, Attention())
