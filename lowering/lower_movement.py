"""Data-movement kernels -> npu.kernel: transpose, concat and slice as tiled copies through UB.

Each is a set of regions to copy: iterate (lead..., R, C) tiles of a region of the output, bring
the matching input window into UB (MTE2), transpose it on the vector unit when the two tiled
axes come in the other order in the input, and store it (MTE3). A concat copies each input into
its slab of the output, a slice copies the selected window (unit steps), a transpose one region
with permuted windows. (Reshape moves no data: it is an `npu.reshape` view.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import shape_of, to_numpy_dtype
from gedialects.kernel.mirrored import ConcatKernelOp, SliceKernelOp, TransposeKernelOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import VecTransposeOp
from lowering.npu_builder import Index, KernelBuilder
from lowering.registry import lowers
from lowering.tiling import choose_elementwise_tile
from runtime.targets import Target


@dataclass(frozen=True)
class Region:
    """out[dst_base + i] = src[src_base + perm-mapped i] for every index i of `shape`."""

    src: SSAValue
    shape: tuple[int, ...]
    src_base: tuple[int, ...]
    dst_base: tuple[int, ...]
    perm: tuple[int, ...]
    """Output axis j of the region reads input axis perm[j]."""
    dst: SSAValue | None = None
    """Where the region goes when not the kernel's output (the pieces of a split)."""


def _regions(op: Operation, inputs: list[SSAValue]) -> list[Region]:
    out = shape_of(op.results[0].type)
    n = len(out)
    ident = tuple(range(n))
    if isinstance(op, TransposeKernelOp):
        perm = tuple(int(p) for p in op.perm.get_values())
        return [Region(inputs[0], out, (0,) * n, (0,) * n, perm)]
    if isinstance(op, ConcatKernelOp):
        axis, start, regions = op.get_int("axis") % n, 0, []
        for value, ten in zip(inputs, op.operands):
            shape = shape_of(ten.type)
            base = tuple(start if a == axis else 0 for a in range(n))
            regions.append(Region(value, shape, (0,) * n, base, ident))
            start += shape[axis]
        return [r for r in regions if math.prod(r.shape)]
    if isinstance(op, SliceKernelOp):
        src_shape = shape_of(op.operands[0].type)
        base = [0] * n
        for a, s, step in zip(op.ints("axes"), op.ints("starts"), op.ints("steps")):
            if step != 1:
                raise UnsupportedError(f"{op.name} with step {step} has no npu lowering yet")
            a %= n
            base[a] = min(max(s + src_shape[a] if s < 0 else s, 0), src_shape[a])
        return [Region(inputs[0], out, tuple(base), (0,) * n, ident)]
    raise UnsupportedError(f"'{op.name}' has no lowering to the npu dialect yet")


def _unit_steps(op: Operation) -> bool:
    """Strided and reversed slices go to `lowering.lower_slice`."""
    return not isinstance(op, SliceKernelOp) or all(s == 1 for s in op.ints("steps"))


@lowers(TransposeKernelOp, ConcatKernelOp, SliceKernelOp, when=_unit_steps)
def lower_movement(
    op: Operation, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> KernelOp:
    out_shape = shape_of(op.results[0].type)
    if len(out_shape) < 1:
        raise UnsupportedError(f"rank-0 {op.name} has no npu lowering")
    kind = op.name[7:]
    return copy_kernel(_regions(op, inputs), output, target, name, op.fused_names, kind)


def transpose_last_two(src: SSAValue, dst: SSAValue, target: Target, name: str) -> KernelOp:
    """A kernel writing HBM buffer `src` with its last two axes swapped into `dst`."""
    n = len(src.type.dims)
    return transpose_kernel(src, dst, (*range(n - 2), n - 1, n - 2), target, name)


def transpose_kernel(
    src: SSAValue, dst: SSAValue, perm: Sequence[int], target: Target, name: str
) -> KernelOp:
    """A kernel writing transpose(`src`, perm) (numpy's rule) into HBM buffer `dst`."""
    n = len(perm)
    region = Region(src, tuple(dst.type.dims), (0,) * n, (0,) * n, tuple(perm))
    return copy_kernel([region], dst, target, name, [], "transpose")


def copy_kernel(
    regions: list[Region],
    output: SSAValue,
    target: Target,
    name: str,
    fused_from: Sequence[str],
    kind: str,
) -> KernelOp:
    """One kernel copying every region into `output` through UB tiles."""
    element = output.type.element_type
    isz = to_numpy_dtype(element).itemsize
    rows = max((r.shape[-2] if len(r.shape) >= 2 else 1) for r in regions)
    cols = max(r.shape[-1] for r in regions)
    leading = max(math.prod(r.shape[:-2]) for r in regions)  # tiles go over cores with these
    full = (True, True, isz)
    three = [full, full, full]  # straight, swapped and output tiles
    tiling = choose_elementwise_tile(target, rows, cols, leading, three, [full], isz, copies=1)
    tr, tc = tiling.rows, tiling.cols
    kernel = KernelOp(name, tiling.blocks, fused_from=fused_from, kind=kind)
    b = KernelBuilder(kernel)
    straight = b.alloc([tr, tc], element, "ub")
    swapped = b.alloc([tc, tr], element, "ub")
    out_tile = b.alloc([tr, tc], element, "ub")
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    for region in regions:
        _copy_region(b, region, output, (tr, tc), tiling.blocks, (straight, swapped, out_tile))
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return kernel


def _copy_region(b: KernelBuilder, region: Region, output, tile, blocks, bufs) -> None:  # noqa: ANN001
    straight, swapped, out_tile = bufs
    tr, tc = tile
    shape, n = region.shape, len(region.shape)
    rows, cols = (shape[-2] if n >= 2 else 1), shape[-1]
    nr, nc = -(-rows // tr), -(-cols // tc)
    with b.loop(b.block_index, math.prod(shape[:-2]) * nr * nc, blocks) as t:
        c0 = b.muli(b.remui(t, nc), tc)
        q = b.divui(t, nc)
        r0 = b.muli(b.remui(q, nr), tr)
        lead: list[Index] = []
        rest: Index = b.divui(q, nr)
        for dim in reversed(shape[:-2]):
            lead.insert(0, b.remui(rest, dim))
            rest = b.divui(rest, dim)
        rext, cext = b.extent(r0, tr, rows), b.extent(c0, tc, cols)
        index = [*lead, r0, c0][-n:]
        sizes: list[Index] = [*(1 for _ in lead), rext, cext][-n:]
        src_off, src_size = _permuted(region, index, sizes, b)
        # the two tiled output axes, in the order the input stores them
        swap = n >= 2 and region.perm[n - 2] > region.perm[n - 1]
        b.wait_flag("V", "MTE2")
        if swap:
            b.dma(region.src, src_off, src_size, swapped, [0, 0], [cext, rext])
        else:
            b.dma(region.src, src_off, src_size, straight, [0, 0], [rext, cext])
        b.sync("MTE2", "V")
        b.wait_flag("MTE3", "V")
        if swap:
            b.add(VecTransposeOp(swapped, out_tile, [1, 0]))
        else:
            b.add(_copy(straight, out_tile))
        b.set_flag("V", "MTE2")
        b.sync("V", "MTE3")
        dst_off = [b.addi(i, base) for i, base in zip(index, region.dst_base)]
        b.dma(out_tile, [0, 0], [rext, cext], region.dst or output, dst_off, sizes)
        b.set_flag("MTE3", "V")


def _permuted(region: Region, index: Sequence[Index], sizes: Sequence[Index], b: KernelBuilder):  # noqa: ANN202
    """The input window that holds the region's output window `index`/`sizes`."""
    n = len(region.perm)
    offsets: list[Index] = [0] * n
    extents: list[Index] = [1] * n
    for j, axis in enumerate(region.perm):
        offsets[axis] = b.addi(index[j], region.src_base[axis])
        extents[axis] = sizes[j]
    return offsets, extents


def _copy(src: SSAValue, dst: SSAValue) -> Operation:
    from gedialects.npu.vector import UNARY_OPS

    return UNARY_OPS["copy"](src, dst)
