"""The ONNX Resize converter: output sizes and scales from `sizes` or `scales` (with `axes`
and `keep_aspect_ratio_policy`), onto `ge.resize` (antialias too); tf_crop_and_resize is
refused with an `UnsupportedError`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, f64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_constant import ints_of
from gedialects.ge import ops


def resize_geometry(n: Node) -> tuple[list[int], list[float] | None]:
    """Output sizes, and the scales when ONNX's coordinates use them (given or kept)."""
    shape = n.shape(0)
    axes = [a % len(shape) for a in n.ints("axes", list(range(len(shape))))]
    policy = n.attr("keep_aspect_ratio_policy", "stretch")
    if n.has(3):
        wanted = ints_of(n.const(3, "sizes"))
        if policy == "stretch":
            sizes = list(shape)
            for a, s in zip(axes, wanted):
                sizes[a] = s
            return sizes, None
        ratios = [s / shape[a] for a, s in zip(axes, wanted)]
        scale = min(ratios) if policy == "not_larger" else max(ratios)
        given = [scale] * len(axes)
    else:
        given = [float(s) for s in np.asarray(n.const(2, "scales"), np.float32).reshape(-1)]
    scales = [1.0] * len(shape)
    for a, s in zip(axes, given):
        scales[a] = s
    if n.has(3):  # keep_aspect_ratio_policy rounds half up
        return [int(np.floor(d * s + 0.5)) for d, s in zip(shape, scales)], scales
    return [int(np.floor(d * s)) for d, s in zip(shape, scales)], scales


def resize(n: Node) -> SSAValue:
    mode = n.attr("mode", "nearest")
    coord = n.attr("coordinate_transformation_mode", "half_pixel")
    if mode not in ("nearest", "linear", "cubic") or coord == "tf_crop_and_resize":
        raise n.unsupported(f"Resize with mode '{mode}' and '{coord}' is not supported")
    antialias = 1 if n.attr("antialias", 0) and mode != "nearest" else None  # linear, cubic
    sizes, scales = resize_geometry(n)
    op = ops.ResizeOp(
        n.value(0),
        sizes=sizes,
        scales=None if scales is None else DenseArrayBase.from_list(f64, scales),
        mode=mode,
        coordinate_transformation_mode=coord,
        nearest_mode=n.attr("nearest_mode", "round_prefer_floor"),
        **_cubic_props(n) if mode == "cubic" else {},
        antialias=antialias,
    )
    return n.emit(op)


def _cubic_props(n: Node) -> dict:
    return {
        "cubic_coeff_a": float(n.attr("cubic_coeff_a", -0.75)),
        "exclude_outside": int(n.attr("exclude_outside", 0)),
    }


CONVERTERS: dict[str, Callable[[Node], SSAValue]] = {"Resize": resize}
