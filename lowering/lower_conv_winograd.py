"""kernel.conv2d {algorithm = winograd_2x2 | winograd_4x4} -> npu: Lavin's F(m x m, 3 x 3).

Two forms, the cheaper by estimate (both need U = G g G^T: constant weights are transformed
at compile time into a new `npu.hbm_constant`, runtime weights by a vector kernel,
`winograd_weights`):
- fused (`winograd_fused`): one kernel; per item the input transform on the vector unit, V in
  L1, the batched GEMM per transform position on the cube with the item's block of U resident
  in L1, M through FIX into UB, the output transform and the epilogue, stores. Nothing but the
  image, U and the output crosses HBM, but every core reads the U block of its items (from
  L2), which dominates deep layers (U is alpha^2/9 = 1.8x / 4x the weights).
- unfused: three kernels through HBM temporaries: V = B^T d B as (alpha^2, C, tiles), the
  batched GEMM M[xi] = U[xi] @ V[xi] by `gemm.emit_gemm` (groups are batch entries
  through views), Y = A^T M A with the epilogue; U is read once over all cores.
"""

from __future__ import annotations

from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import to_numpy_dtype
from gedialects.kernel.conv_algorithms import ConvGeometry, _winograd_reason
from gedialects.kernel.ops import Conv2DKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp
from lowering.gemm import emit_gemm
from lowering.lower_conv import _view, conv_epilogue_steps, refuse_input_activation
from lowering.registry import lowers
from lowering.winograd_fused import FusedWinograd
from lowering.winograd_fused_tiling import FusedShape, choose_fused_tile
from lowering.winograd_kernels import InputTransform, OutputTransform
from lowering.winograd_tiling import (
    WinogradShape,
    choose_input_tile,
    choose_output_tile,
    unfused_estimate,
)
from lowering.winograd_weights import WeightTransform, constant_weights
from runtime.targets import Target

TILE = {"winograd_2x2": 2, "winograd_4x4": 4}
MAX_PAD = 2
FUSED_SLACK = 1.0  # the fused estimate is fitted to the interpreter; kept to force a form in tests


def _by_winograd(op: Conv2DKernelOp) -> bool:
    return op.algorithm is not None and op.algorithm.data in TILE


def _check(op: Conv2DKernelOp, x: SSAValue, w: SSAValue, algorithm: str) -> None:
    if str(x.type.element_type) not in ("f16", "f32"):
        raise UnsupportedError(f"'{op.name}' on {x.type.element_type} has no cube mode")
    geometry = ConvGeometry.of(
        x.type.dims, w.type.dims, op.ints("strides"), op.ints("pads"),
        op.ints("dilations"), op.get_int("groups"),
    )  # fmt: skip
    reason = _winograd_reason(geometry)
    if reason is not None:
        raise UnsupportedError(f"'{op.name}' by {algorithm}: {reason}")
    if max(op.ints("pads")) > MAX_PAD:
        raise UnsupportedError(f"'{op.name}' by {algorithm}: pads over {MAX_PAD} are not lowered")


def _alloc(dims: tuple[int, ...], element, ops: list[Operation]) -> SSAValue:  # noqa: ANN001
    alloc = HbmAllocOp(BufferType(dims, element, "hbm"))
    ops.append(alloc)
    return alloc.buffer


def _weights(op, w: SSAValue, m: int, target: Target, name: str, ops: list) -> SSAValue:  # noqa: ANN001
    """U as (alpha^2 * groups, O/groups, C/groups): a compile-time constant or a kernel's."""
    groups, (o, cg) = op.get_int("groups"), w.type.dims[:2]
    const = constant_weights(w, m, groups)
    if const is not None:
        ops.append(const)
        return const.buffer
    alpha2 = (m + 2) ** 2
    u = _alloc((alpha2, o * cg), w.type.element_type, ops)
    rows = _view(w, (o * cg, 9), ops)
    algorithm = op.algorithm.data
    refuse_input_activation(op, algorithm)
    ops.append(
        WeightTransform(rows, u, m, target).emit(f"{name}_weights", op.fused_names, algorithm)
    )
    return _view(u, (alpha2 * groups, o // groups, cg), ops)


@lowers(Conv2DKernelOp, when=_by_winograd)
def lower_conv2d_winograd(
    op: Conv2DKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """The fused kernel when its tiles fit the target, else the three-kernel form."""
    algorithm = op.algorithm.data
    x, w = inputs[0], inputs[1]
    _check(op, x, w, algorithm)
    m, (n, _, h, wd), groups = TILE[algorithm], x.type.dims, op.get_int("groups")
    o, cg = w.type.dims[:2]
    oh, ow = output.type.dims[2:]
    isz = to_numpy_dtype(x.type.element_type).itemsize
    channel = sum(getattr(op, attr) is not None for attr in ("bias", "scale", "shift"))
    spans = (False,) * channel + ((True,) if op.residual is not None else ())
    pads = tuple(op.ints("pads")[:2])
    shape = FusedShape(m, n, groups, cg, o // groups, h, wd, oh, ow, isz, pads, spans)
    tiling = choose_fused_tile(target, shape)
    if tiling is None or tiling.estimate * FUSED_SLACK > _unfused_cycles(op, x, output, target):
        return _unfused(op, inputs, output, target, name)
    ops: list[Operation] = []
    steps = conv_epilogue_steps(op, inputs[2:], (n, o, oh, ow), ops)
    u = _weights(op, w, m, target, name, ops)
    u4 = _view(u, ((m + 2) ** 2, groups, o // groups, cg), ops)
    fused = FusedWinograd(x, u4, output, shape, tiling)
    return [*ops, fused.emit(name, op.fused_names, algorithm, steps)]


def _unfused_cycles(op: Conv2DKernelOp, x: SSAValue, output: SSAValue, target: Target) -> float:
    """The three-kernel form's estimate (infinite when its transform tiles do not fit UB)."""
    m, (n, c, h, wd) = TILE[op.algorithm.data], x.type.dims
    o, oh, ow = output.type.dims[1:]
    th, tw, isz = -(-oh // m), -(-ow // m), to_numpy_dtype(x.type.element_type).itemsize
    try:
        tin = choose_input_tile(target, WinogradShape(m, n, c, th, tw, isz), h, wd)
        tout = choose_output_tile(target, WinogradShape(m, n, o, th, tw, isz, ow), 1)
    except ValueError:
        return float("inf")
    cg = c // op.get_int("groups")
    return unfused_estimate(target, tin, tout, ((m + 2) ** 2, c, o, cg, n * th * tw, isz))


def _unfused(
    op: Conv2DKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    algorithm = op.algorithm.data
    x, w = inputs[0], inputs[1]
    m, (n, c, h, wd), groups = TILE[algorithm], x.type.dims, op.get_int("groups")
    o, cg = w.type.dims[:2]
    oh, ow = output.type.dims[2:]
    th, tw = -(-oh // m), -(-ow // m)
    tiles, alpha2, el = n * th * tw, (m + 2) ** 2, x.type.element_type
    isz, fused = to_numpy_dtype(el).itemsize, op.fused_names
    ops: list[Operation] = []
    u = _weights(op, w, m, target, name, ops)
    pt, pl = op.ints("pads")[:2]
    try:
        shape_in = WinogradShape(m, n, c, th, tw, isz)
        tiling_in = choose_input_tile(target, shape_in, h, wd)
        out = _view(output, (n, o, oh * ow), ops)
        steps = conv_epilogue_steps(op, inputs[2:], (n, o, oh * ow), ops)
        spans = tuple(
            (len(s.operand.type.dims) >= 2 and s.operand.type.dims[-2] != 1,
             s.operand.type.dims[-1] != 1)
            for s in steps if s.operand is not None
        )  # fmt: skip
        shape_out = WinogradShape(m, n, o, th, tw, isz, ow, spans)
        tiling_out = choose_output_tile(target, shape_out, len(steps))
    except ValueError:
        raise UnsupportedError(
            f"'{op.name}' by {algorithm}: a row of {tw} tiles does not fit UB"
        ) from None
    v = _alloc((alpha2, c, tiles), el, ops)
    transform = InputTransform(x, v, shape_in, tiling_in, (pt, pl))
    ops.append(transform.emit(f"{name}_input", fused, algorithm))
    mprod = _alloc((alpha2, o, tiles), el, ops)
    v_groups = _view(v, (alpha2 * groups, cg, tiles), ops) if groups > 1 else v
    m_groups = _view(mprod, (alpha2 * groups, o // groups, tiles), ops) if groups > 1 else mprod
    gemm = emit_gemm(u, v_groups, m_groups, target, f"{name}_gemm", fused, "conv2d", [])
    gemm.properties["algorithm"] = StringAttr(algorithm)
    ops.append(gemm)
    back = OutputTransform(mprod, out, shape_out, tiling_out)
    ops.append(back.emit(name, fused, algorithm, steps))
    return ops


def planned_cycles(g: ConvGeometry, algorithm: str, target: Target, itemsize: int) -> float:
    """What this lowering expects to spend on a conv of geometry `g` (no epilogue): the
    cheaper of its fused and three-kernel plans, infinite when neither fits. Selection
    (`runtime.conv_cost`) costs Winograd by it, so it chooses what will really be emitted."""
    m = TILE[algorithm]
    (oh, ow), cg, og = g.out_hw, g.c // g.groups, g.o // g.groups
    shape = FusedShape(m, g.n, g.groups, cg, og, g.h, g.w, oh, ow, itemsize, g.pads[:2])
    fused = choose_fused_tile(target, shape)
    th, tw = -(-oh // m), -(-ow // m)
    try:
        tin = choose_input_tile(target, WinogradShape(m, g.n, g.c, th, tw, itemsize), g.h, g.w)
        tout = choose_output_tile(target, WinogradShape(m, g.n, g.o, th, tw, itemsize, ow), 1)
        gemm = ((m + 2) ** 2, g.c, g.o, cg, g.n * th * tw, itemsize)
        unfused = unfused_estimate(target, tin, tout, gemm)
    except ValueError:
        unfused = float("inf")
    return min(fused.estimate * FUSED_SLACK if fused else float("inf"), unfused)
