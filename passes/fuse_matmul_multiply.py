"""`fuse-matmul-multiply`: a product of a matmul's result as the matmul's epilogue.

`mul(kernel.matmul(...), m)` where the matmul's result is read by the mul alone and `m`
broadcasts into it without growing it becomes the matmul's `multiplier`, applied after its
activation. The case it is for is the gated linear unit of LLaMA, Mistral, Qwen and Gemma
MLPs, silu(x Wg) * (x Wu) (GeGLU and ReGLU likewise): the gate's matmul already carries
its activation (`fuse-matmul-add-gelu`), and the up projection's product times the gate
was an elementwise kernel that read both products back from HBM and wrote the gated
one; now the second matmul's epilogue multiplies each output tile by the other's tile
before its store. A layer scale (CaiT's and ConvNeXt's gamma * (x W + b)) is the
broadcast case. When both factors are matmuls, the one whose activation keeps no scratch
tile takes it (the up projection, not silu's gate: a scratch tile and the multiplier's
tile beside the output's narrow the GEMM's tiles, TinyLlama's 128 x 2048 -> 5632 from 176
to 64 columns and 60,220 to 82,069 estimated cycles), else the mul's left operand's; the
other must then be computed first, so the two GEMMs, each bound by its weights' reads,
run one after the other instead of side by side.

A gated unit whose two halves come from one projection (diffusers' GEGLU in every Stable
Diffusion transformer block, `h, gate = proj(x).chunk(2, -1)`; Phi-3's and ChatGLM's
`gate_up_proj`) reaches the mul through slices (or a split) of the last axis: a GEMM
writing both halves, a copy kernel per half, then the elementwise product.
`GatedSplitProjection` makes each half a matmul of its own by the weight's (and bias's)
columns, a constant rewrite, so the halves fuse as above: two GEMM kernels and no copy.
Pre: `fuse-matmul-add-gelu` (the activation and bias go first). Post: no mul of a
single-use matmul result and a value that broadcasts into it remains unless the matmul
already has a multiplier or a residual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from gedialects.ge import ops as ge
from gedialects.ge.ops.movement import slice_extent
from gedialects.ge.types import shape_of
from gedialects.kernel import ops as k
from gedialects.kernel.base import ACTIVATIONS
from lowering.gemm_epilogue import activation_steps
from passes.epilogues import MatMulEpilogue, fuse_into_producer, rewrite_module
from passes.fold_batch_norm import constant_of, private_weight
from passes.fuse_matmul_add_gelu import MatMulActivation
from passes.matching import erase_dead, only_user


class MatMulMultiplier(RewritePattern):
    """mul(kernel.matmul(A, B), m) -> kernel.matmul(A, B) multiplier m."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, mul: ge.MulOp, rewriter: PatternRewriter, /) -> None:
        pairs = sorted(((mul.lhs, mul.rhs), (mul.rhs, mul.lhs)), key=lambda p: _scratch(p[0]))
        for produced, other in pairs:
            owner = produced.owner
            if isinstance(other.owner, ge.MatMulOp | k.MatMulKernelOp) and isinstance(
                owner, ge.MatMulOp | k.MatMulKernelOp
            ):
                if not worth_waiting(mul.output, owner.rhs):
                    continue
            absorb = lambda e: e.absorb_multiplier(mul, other, produced)
            if fuse_into_producer(rewriter, mul, produced, absorb, (MatMulEpilogue,)):
                return


class GatedSplitProjection(RewritePattern):
    """mul([act](piece a of P), [act](piece b of P)), P = x W [+ bias] with W and the bias
    private constants and read by the two pieces alone (slices or a split of the last
    axis, step 1) -> each piece is x W[:, a] [+ bias[a]], its own matmul kernel."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, mul: ge.MulOp, rewriter: PatternRewriter, /) -> None:
        pieces = [_column_piece(v) for v in (mul.lhs, mul.rhs)]
        if pieces[0] is None or pieces[1] is None or pieces[0][0] is pieces[1][0]:
            return
        (value_a, cols_a), (value_b, cols_b) = pieces
        source = _source(value_a)
        if source is not _source(value_b):
            return
        readers = {use.operation for use in source.uses}
        if readers != {value_a.owner, value_b.owner} or len(value_a.owner.results) > 2:
            return
        product = source.owner
        epilogue = MatMulEpilogue.of(product)
        if epilogue is None or epilogue.has("activation", "multiplier", "residual"):
            return
        if epilogue.flag("transpose_a"):
            return
        weight = private_weight(epilogue.values["rhs"], product)
        bias = epilogue.values.get("bias")
        bias_data = None if bias is None else private_weight(bias, product)
        if weight is None or weight.ndim != 2 or (bias is not None and bias_data is None):
            return
        if bias_data is not None and any(d != 1 for d in bias_data.shape[:-1]):
            return  # a bias that varies along the rows cannot be cut by columns alone
        if not worth_waiting(mul.output, weight.size // 2):
            return
        transposed = epilogue.flag("transpose_b")
        new_ops: list = []
        for value, (start, stop) in ((value_a, cols_a), (value_b, cols_b)):
            columns = weight[start:stop] if transposed else weight[:, start:stop]
            half = MatMulEpilogue(dict(epilogue.values), dict(epilogue.props), list(epilogue.fused))
            constant = constant_of(columns, epilogue.values["rhs"])
            half.values["rhs"] = constant.output
            new_ops.append(constant)
            if bias_data is not None:
                piece_bias = constant_of(bias_data[..., start:stop], bias)
                half.values["bias"] = piece_bias.output
                new_ops.append(piece_bias)
            half.fused.append(value.owner.name)
            built = half.build()
            new_ops += built
            rewriter.replace_all_uses_with(value, built[-1].results[0])
        rewriter.insert(new_ops, InsertPoint.before(product))
        dead = {value_a.owner, value_b.owner}
        for op in dead:
            rewriter.erase(op)
        erase_dead(rewriter, [product])


WAIT_RATIO = 16
"""A gated unit fuses when its product has at least 1 / WAIT_RATIO the elements of the
weight of the GEMM that then waits (`worth_waiting`)."""


def worth_waiting(product: SSAValue, weight: SSAValue | int) -> bool:
    """Whether fusing a gated unit's product into a GEMM that must then wait for the other
    GEMM (or, for a cut projection, run after its other half) pays: the elementwise kernel
    it saves moves 3x the product, while the two GEMMs, each bound by its weight's reads,
    could run side by side when their tiles leave cores free. A decoding step's product is
    a few rows against a whole weight (toy LLaMA, d 256 -> 688: 688 elements against 176k;
    its two 22-block GEMMs overlapped, makespan 11,870 -> 13,166 fused); a prefill's is
    rows x N (256 tokens: a quarter of the weight)."""
    count = weight if isinstance(weight, int) else math.prod(shape_of(weight.type))
    return WAIT_RATIO * math.prod(shape_of(product.type)) >= count


def _column_piece(value: SSAValue) -> tuple[SSAValue, tuple[int, int]] | None:
    """The piece of a last-axis cut that `value` is (or an activation of, read only by
    it), with its column range, when nothing else reads the piece."""
    owner = value.owner
    if type(owner) in ACTIVATIONS.values() and only_user(owner.operands[0]) is owner:
        value = owner.operands[0]
        owner = value.owner
    if only_user(value) is None:
        return None
    rank = len(shape_of(value.type))
    if isinstance(owner, ge.SliceOp):
        if len(owner.ints("axes")) != 1 or owner.ints("axes")[0] % rank != rank - 1:
            return None
        dim = shape_of(owner.input.type)[-1]
        if owner.ints("steps")[0] != 1:
            return None
        start, stop, _ = slice_extent(owner.ints("starts")[0], owner.ints("ends")[0], 1, dim)
        return value, (start, max(start, stop))
    if isinstance(owner, ge.SplitOp) and owner.get_int("axis") % rank == rank - 1:
        index = list(owner.results).index(value)
        start = sum(owner.ints("sizes")[:index])
        return value, (start, start + owner.ints("sizes")[index])
    return None


def _source(piece: SSAValue) -> SSAValue:
    return piece.owner.operands[0]


def _scratch(value: SSAValue) -> bool:
    """Whether `value` is a matmul kernel's result whose activation keeps a scratch tile."""
    op = value.owner
    if not isinstance(op, k.MatMulKernelOp) or op.activation is None:
        return False
    return any(s.needs_scratch for s in activation_steps(op.activation.data, op.activation_attrs))


@dataclass(frozen=True)
class FuseMatMulMultiply(ModulePass):
    """Fuse an elementwise product of a matmul's result into the matmul's epilogue."""

    name = "fuse-matmul-multiply"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, GatedSplitProjection(), MatMulActivation(), MatMulMultiplier())
