"""kernel.attention -> one fused npu.kernel: flash attention on the cube and the vector unit.

O = softmax(Q K' * scale + mask) V. An item is one (batch index, query tile of tq rows); the
items are split into consecutive runs, one per block. Per item, Q goes HBM -> L1 -> L0A once;
then per key block of `width` columns (the whole key axis when its rows fit UB):
- S phase: per key tile of tk columns (ping/pong), K' HBM -> L1 -> L0B, S = Q K' on the cube
  into L0C, FIX to the UB score block (converted to the input type, padded with a large
  negative past Sk); the block's V rows HBM -> L1 ride along.
- softmax on the vector unit: scale, mask, row max, exp(S - max), row sum; with several
  blocks (online softmax) the running max and sum are rescaled by exp(old max - new max).
- P phase: per key tile, P UB -> L1 -> L0A, V L1 -> L0B, O += P V in L0C; FIX O to UB, where
  online blocks rescale the running O.
At the end O / row sum is cast and stored. A key_transposed K (.., Sk, d) loads its tiles
as rows of d and the MTE1 load into L0B transposes them (`npu.dma {transpose}`), so no
transpose kernel runs first. Q, K, V and O in the heads-second layout (`query_perm` ...:
`attention_flash.Layouts`) are read and written as windows of their buffers' own axes.
Tiles come from `runtime.attention_cost.choose_attention_tile`. This module plans and picks
the form (fused or unfused, by modeled cycles); `lowering.attention_flash` emits the fused
kernel's code.
"""

from __future__ import annotations

import math

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.ops import AttentionKernelOp
from lowering.attention_flash import Flash, Layouts
from lowering.attention_pipeline import PipelinedFlash
from lowering.registry import lowers
from runtime.attention_cost import (
    AttentionShape,
    AttentionTiling,
    choose_attention_tile,
    pipelined,
    unfused_cycles,
)
from runtime.targets import Target


def attention_shape(op: AttentionKernelOp) -> AttentionShape:
    """The sizes of `op` that its costs depend on."""
    q, v, out = op.logical_shapes()
    k = op.logical_key()
    sk = k[-2] if op.get_flag("key_transposed") else k[-1]
    itemsize = to_numpy_dtype(element_of(op.query.type)).itemsize
    batch = math.prod(out[:-2])
    mask = op.mask is not None
    relaid = sum(math.prod(shape) * itemsize for shape, name in ((q, "query_perm"),
                 (k, "key_perm"), (v, "value_perm"), (out, "output_perm"))
                 if op.perm(name) is not None)  # fmt: skip
    kv_batch = math.prod(max(a, b) for a, b in zip(k[:-2], v[:-2]))  # K, V broadcast
    return AttentionShape(batch, q[-2], sk, q[-1], v[-1], itemsize, mask, relaid, kv_batch)


def fused_tiling(op: AttentionKernelOp, target: Target) -> AttentionTiling:
    """The fused kernel's tiles, or `UnsupportedError` naming why it cannot run fused."""
    types = {str(element_of(v.type)) for v in op.operands}
    if len(types) != 1 or types - {"f16", "f32"}:
        raise UnsupportedError(f"fused {op.name} needs one float type (f16 or f32), got {types}")
    if any(len(v.type.get_shape()) < 2 for v in (op.query, op.key, op.value)):
        raise UnsupportedError(f"fused {op.name} needs matrices (rank >= 2) for Q, K and V")
    if op.get_float("scale") <= 0:
        raise UnsupportedError(f"fused {op.name} needs a positive scale")
    shape = attention_shape(op)
    tiling = choose_attention_tile(target, shape)
    if tiling is None:
        raise UnsupportedError(
            f"fused {op.name} with head dims {shape.d}/{shape.dv}: no tile fits L0"
        )
    return tiling


def attention_costs(op: AttentionKernelOp, target: Target) -> dict[str, float]:
    """Modeled cycles of each way to run `op` ("fused" only where its tiles fit)."""
    shape = attention_shape(op)
    costs = {"unfused": unfused_cycles(target, shape)}
    try:
        costs["fused"] = fused_tiling(op, target).estimate
    except UnsupportedError:
        pass
    return costs


def _choice(op: AttentionKernelOp, target: Target) -> str:
    costs = attention_costs(op, target)
    return min(costs, key=costs.__getitem__)


def _fused(op: Operation) -> bool:
    return op.algorithm is None or op.algorithm.data == "fused"


@lowers(AttentionKernelOp, when=_fused)
def lower_attention(
    op: AttentionKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """The fused kernel; without a chosen algorithm, the unfused kernels where they are
    modeled faster or the fused one cannot run."""
    if op.algorithm is None and _choice(op, target) == "unfused":
        from lowering.lower_attention_unfused import lower_attention_unfused

        return lower_attention_unfused(op, inputs, output, target, name)
    tiling = fused_tiling(op, target)
    scale = op.get_float("scale")
    width = min(tiling.width, -(-attention_shape(op).sk // tiling.tk) * tiling.tk)
    perms = {n: p for n in op.PERMS if (p := op.perm(n)) is not None}
    layouts = Layouts(perms, op.get_flag("key_transposed"))
    if tiling.splits > 1:  # flash-decoding: the key axis over the cores, then a merge
        flash = Flash(inputs, output, target, tiling, scale, layouts)
        partials = flash.partials()
        keys = flash.emit(f"{name}_keys", op.fused_names)
        return [*partials, keys, flash.emit_combine(name, op.fused_names, target)]
    if pipelined(target, attention_shape(op), tiling.tq, tiling.tk, width):
        emitter = PipelinedFlash(inputs, output, target, tiling, scale, layouts)
    else:
        emitter = Flash(inputs, output, target, tiling, scale, layouts)
    return [emitter.emit(name, op.fused_names)]
