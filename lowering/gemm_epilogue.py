"""The epilogue of a cube GEMM tile on the vector unit: scale, operand add/mul, activation.

A conv or matmul kernel drains its L0C tile to UB and runs a list of `Step`s on it there,
loading the step operands' tiles (numpy-broadcast to the output, `broadcast_window`) in one
MTE2 batch first. Every GEMM-shaped lowering (matmul, im2col/direct/Winograd conv, conv
transpose, attention) builds its steps here, so an epilogue means the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import DictionaryAttr, StringAttr
from xdsl.ir import SSAValue

from gedialects.errors import UnsupportedError
from gedialects.npu.vector import BINARY_OPS, SCALAR_OPS, UNARY_OPS

ACTIVATIONS = {"relu", "sigmoid", "tanh", "abs", "neg", "exp", "erf", "softplus"}
PARAMETRIC = {"clip", "leaky_relu", "gelu", "hard_sigmoid", "hard_swish", "elu", "silu"}
"""Activations whose attributes the steps read (the others take none)."""


@dataclass(frozen=True)
class Step:
    """One epilogue step on the output tile u: `muls` by value, `add`/`mul` an HBM operand that
    broadcasts to the output (numpy rules), or an activation `act` (name, attrs)."""

    kind: str
    value: float | str | None = None
    operand: SSAValue | None = None
    attrs: tuple[tuple[str, float | str], ...] = ()

    @property
    def needs_scratch(self) -> bool:
        """Whether the step needs a second UB tile (gelu and hard_swish read x after writing
        their result; elu and softplus keep max(x, 0) there, silu sigmoid(x))."""
        return self.value in ("gelu", "hard_swish", "elu", "softplus", "silu")


def scratch_spans(steps: list[Step]) -> tuple[tuple[bool, bool], ...]:
    """The extra UB tile (spanning rows and columns) the steps need, for the tile choice."""
    return ((True, True),) if any(s.needs_scratch for s in steps) else ()


def activation_steps(name: str | None, attrs: DictionaryAttr | None) -> list[Step]:
    if name is None:
        return []
    values = tuple(
        (k, v.data if isinstance(v, StringAttr) else float(v.value.data))
        for k, v in (attrs.data.items() if attrs else ())
    )
    if name in ACTIVATIONS and not values or name in PARAMETRIC:
        return [Step("act", name, attrs=values)]
    raise UnsupportedError(f"epilogue activation '{name}' has no npu lowering yet")


def run_epilogue(b, steps, u, tiles, out_shape, index, rows, cols) -> None:  # noqa: ANN001
    """Run the epilogue steps on u; operand tiles are loaded first, in one MTE2 batch."""
    if tiles:
        b.wait_flag("V", "MTE2", 2)
        for value, tile in tiles.items():
            offsets, sizes = broadcast_window(value.type.dims, out_shape, index, rows, cols)
            dims = value.type.dims
            shape = [rows[1] if len(dims) >= 2 and dims[-2] != 1 else 1]
            shape.append(cols[1] if dims and dims[-1] != 1 else 1)
            b.dma(value, offsets, sizes, tile, [0, 0], shape)
        b.sync("MTE2", "V", 2)
    apply_steps(b, steps, u, tiles)
    if tiles:
        b.set_flag("V", "MTE2", 2)


def apply_steps(b, steps: list[Step], u: SSAValue, tiles: dict) -> None:  # noqa: ANN001
    """The epilogue steps on the UB tile u, in place; `tiles` holds each step operand's UB tile
    (broadcasting to u)."""
    for step in steps:
        if step.kind == "muls":
            b.add(SCALAR_OPS["muls"](u, step.value, u))
        elif step.kind in ("add", "mul"):
            b.add(BINARY_OPS[step.kind](u, tiles[step.operand], u))
        elif step.value == "clip":
            bounds = dict(step.attrs)
            if "min" in bounds:
                b.add(SCALAR_OPS["maxs"](u, bounds["min"], u))
            if "max" in bounds:
                b.add(SCALAR_OPS["mins"](u, bounds["max"], u))
        elif step.value == "leaky_relu":
            b.add(SCALAR_OPS["leaky_relu"](u, dict(step.attrs).get("alpha", 0.01), u))
        elif step.value == "gelu":
            from lowering.lower_elementwise import _gelu

            x = b.alloc(u.type.dims, u.type.element_type, "ub")
            b.add(SCALAR_OPS["muls"](u, 1.0, x))
            _gelu(b, x, u, dict(step.attrs).get("approximate") == "tanh")
        elif step.value == "hard_sigmoid":
            bounds = dict(step.attrs)
            _hard_sigmoid(b, u, bounds.get("alpha", 0.2), bounds.get("beta", 0.5))
        elif step.value in ("elu", "softplus"):
            _rectified_sum(b, u, step.value, dict(step.attrs).get("alpha", 1.0))
        elif step.value == "silu":  # x * sigmoid(alpha x), the sigmoid in a scratch tile
            from lowering.lower_elementwise import silu

            gate = b.alloc(u.type.dims, u.type.element_type, "ub")
            silu(b, u, gate, u, dict(step.attrs).get("alpha", 1.0))
        elif step.value == "hard_swish":  # x * hard_sigmoid(x) with alpha 1/6, beta 1/2
            x = b.alloc(u.type.dims, u.type.element_type, "ub")
            b.add(SCALAR_OPS["muls"](u, 1.0, x))
            _hard_sigmoid(b, u, 1 / 6, 0.5)
            b.add(BINARY_OPS["mul"](u, x, u))
        else:
            b.add(UNARY_OPS[step.value](u, u))


def _rectified_sum(b, u: SSAValue, name: str, alpha: float) -> None:  # noqa: ANN001
    """u = max(u, 0) + f(u), in place, with max(u, 0) in a scratch tile: elu's
    f = alpha (exp(min(u, 0)) - 1), which holds for every alpha without a sign mask (at
    u > 0 it is 0); softplus's f = log(1 + exp(-|u|)), which never overflows."""
    rectified = b.alloc(u.type.dims, u.type.element_type, "ub")
    b.add(SCALAR_OPS["maxs"](u, 0.0, rectified))
    if name == "elu":
        b.add(SCALAR_OPS["mins"](u, 0.0, u))
        b.add(UNARY_OPS["exp"](u, u))
        b.add(SCALAR_OPS["adds"](u, -1.0, u))
        b.add(SCALAR_OPS["muls"](u, alpha, u))
    else:
        b.add(UNARY_OPS["abs"](u, u))
        b.add(UNARY_OPS["neg"](u, u))
        b.add(UNARY_OPS["exp"](u, u))
        b.add(SCALAR_OPS["adds"](u, 1.0, u))
        b.add(UNARY_OPS["log"](u, u))
    b.add(BINARY_OPS["add"](u, rectified, u))


def _hard_sigmoid(b, u: SSAValue, alpha: float, beta: float) -> None:  # noqa: ANN001
    """u = min(1, max(0, alpha * u + beta)), in place."""
    b.add(SCALAR_OPS["muls"](u, alpha, u))
    b.add(SCALAR_OPS["adds"](u, beta, u))
    b.add(SCALAR_OPS["maxs"](u, 0.0, u))
    b.add(SCALAR_OPS["mins"](u, 1.0, u))


def broadcast_window(shape, out_shape, index, rows, cols):  # noqa: ANN001, ANN202
    """Window of an operand that broadcasts to out_shape, for the tile (rows, cols) of the
    batch index `index`: dims of size 1 read index 0."""
    n, r = len(out_shape), len(shape)
    offsets, sizes = [], []
    for a, dim in enumerate(shape):
        j = a + n - r
        if dim == 1:
            offsets.append(0)
            sizes.append(1)
        elif j == n - 1:
            offsets.append(cols[0])
            sizes.append(cols[1])
        elif j == n - 2:
            offsets.append(rows[0])
            sizes.append(rows[1])
        else:
            offsets.append(index[j])
            sizes.append(1)
    return offsets, sizes
