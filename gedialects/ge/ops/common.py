"""What several `ge` op families share: property constraints, assembly formats, the class
naming of generated ops and the ONNX window arithmetic of convolutions and pools."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, i64

from gedialects.ge.base import GeOp, Props, prop_ints

I64_ARRAY = DenseArrayBase.constr(i64)
BINARY_FORMAT = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"
UNARY_FORMAT = "$input attr-dict `:` functional-type(operands, results)"


def op_class_name(name: str) -> str:
    """The Python class name of a generated op: "ge.reduce_sum" -> "ReduceSumOp"."""
    return "".join(p.capitalize() for p in name.split(".")[1].split("_")) + "Op"


def spatial_attrs(cls: type[GeOp], props: Props, rank: int) -> tuple:
    """Checked (strides, pads, dilations) of a window op over `rank` spatial dims."""
    strides = prop_ints(props, "strides")
    pads = prop_ints(props, "pads")
    dilations = prop_ints(props, "dilations") if "dilations" in props else (1,) * rank
    if len(strides) != rank or len(dilations) != rank or len(pads) != 2 * rank:
        raise cls.fail(
            f"needs {rank} strides, {rank} dilations and {2 * rank} pads, got "
            f"{len(strides)}, {len(dilations)} and {len(pads)}"
        )
    if min(strides) < 1 or min(dilations) < 1 or min(pads) < 0:
        raise cls.fail("strides and dilations must be >= 1 and pads >= 0")
    return strides, pads, dilations


def pool_out(
    cls: type[GeOp], size: int, k: int, s: int, pb: int, pe: int, d: int, ceil: bool
) -> int:
    """Output extent of a pooling window, ONNX rules (a ceil window must start in bounds)."""
    span = d * (k - 1) + 1
    if size + pb + pe < span:
        raise cls.fail(f"window of extent {span} does not fit input extent {size} with pads")
    numerator = size + pb + pe - span
    out = (-(-numerator // s) if ceil else numerator // s) + 1
    if ceil and (out - 1) * s >= size + pb:
        out -= 1
    return out


def clamp_overhanging_windows(
    sizes: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil: bool,
) -> tuple[list[int], list[int]]:
    """(kernel, strides) of a pool whose ceil-mode window, on some axis, is wider than the
    padded input: clamped on that axis to the positions inside it; others unchanged.

    ONNX and torch allow such a window (Hugging Face's EfficientNet pools its 7x7 map with a
    2560-wide `AvgPool2d(ceil_mode=True)`): it gives one output, over the padded input, which
    a count_include_pad average divides by. The clamped window reads the same positions and
    gives the same output and divisor, within the padded input as ge's pools require, and
    without a 2560x2560 view. `pads` are ONNX's: every axis's begin, then every end."""
    rank = len(sizes)
    kernel, strides = list(kernel), list(strides)
    for i, size in enumerate(sizes):
        padded = size + pads[i] + pads[rank + i]
        d, span = dilations[i], dilations[i] * (kernel[i] - 1) + 1
        if ceil and padded < span < padded + strides[i]:  # one window, past the end
            kernel[i], strides[i] = -(-padded // d), max(strides[i], padded)
    return kernel, strides
