"""The ONNX Resize converter: output sizes and scales from `sizes` or `scales` (with `axes`
and `keep_aspect_ratio_policy`), onto `ge.resize` (antialias and tf_crop_and_resize's roi
and extrapolation value too)."""

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
    # in float32, as onnxruntime and torch: a size torch exported as the scale 20/12 (1.6666666)
    # of 12 rows is 20 rows in float32 and 19.99999... in float64
    return [int(np.floor(np.float32(d) * np.float32(s))) for d, s in zip(shape, scales)], scales


def resize(n: Node) -> SSAValue:
    mode = n.attr("mode", "nearest")
    coord = n.attr("coordinate_transformation_mode", "half_pixel")
    if mode not in ("nearest", "linear", "cubic"):
        raise n.unsupported(f"Resize with mode '{mode}' is not supported")
    crop = {}
    if coord == "tf_crop_and_resize":
        crop = {"roi": _roi(n), "extrapolation_value": float(n.attr("extrapolation_value", 0.0))}
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
        **crop,
    )
    return n.emit(op)


def _roi(n: Node) -> DenseArrayBase:
    """tf_crop_and_resize's roi for every axis (starts, then ends): the given one, spread
    over `axes` (other axes take the whole 0..1); a computed roi compiles per value."""
    rank = len(n.shape(0))
    if not n.has(1):
        raise n.error("tf_crop_and_resize needs a roi input")
    given = [float(v) for v in np.asarray(n.const(1, "roi"), np.float64).reshape(-1)]
    axes = [a % rank for a in n.ints("axes", list(range(rank)))]
    if len(given) != 2 * len(axes):
        raise n.error(f"roi has {len(given)} values for {len(axes)} axes")
    roi = [0.0] * rank + [1.0] * rank
    for j, a in enumerate(axes):
        roi[a], roi[a + rank] = given[j], given[j + len(axes)]
    return DenseArrayBase.from_list(f64, roi)


def _cubic_props(n: Node) -> dict:
    return {
        "cubic_coeff_a": float(n.attr("cubic_coeff_a", -0.75)),
        "exclude_outside": int(n.attr("exclude_outside", 0)),
    }


CONVERTERS: dict[str, Callable[[Node], SSAValue]] = {"Resize": resize}
