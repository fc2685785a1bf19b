"""kernel.split -> one npu.kernel copying each piece of the input into its own HBM buffer.

Each piece is a region of `lower_movement`'s tiled copy through UB (its source window starts
at the piece's offset along the split axis), so the pieces share one launch, one set of UB
tiles and the tile size the cost model picks for the largest piece.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir import SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import shape_of
from gedialects.kernel.mirrored import SplitKernelOp
from gedialects.npu.launch import KernelOp
from lowering.lower_movement import Region, copy_kernel
from lowering.registry import lowers
from runtime.targets import Target


@lowers(SplitKernelOp)
def lower_split(
    op: SplitKernelOp,
    inputs: list[SSAValue],
    output: SSAValue | Sequence[SSAValue],
    target: Target,
    name: str,
) -> KernelOp:
    """One kernel writing piece i of `inputs[0]` along `axis` into `output[i]`."""
    shape = shape_of(op.operands[0].type)
    if not shape:
        raise UnsupportedError(f"rank-0 {op.name} has no npu lowering")
    outputs = [output] if isinstance(output, SSAValue) else list(output)
    n = len(shape)
    axis = op.get_int("axis") % n
    regions, start = [], 0
    for piece, size in zip(outputs, op.ints("sizes")):
        base = tuple(start if a == axis else 0 for a in range(n))
        piece_shape = tuple(size if a == axis else d for a, d in enumerate(shape))
        if size:
            regions.append(Region(inputs[0], piece_shape, base, (0,) * n, tuple(range(n)), piece))
        start += size
    if not regions:
        raise UnsupportedError(f"{op.name} into empty pieces has no npu lowering")
    return copy_kernel(regions, outputs[0], target, name, op.fused_names, "split")
