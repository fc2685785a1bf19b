"""Sizes for the free (symbolic or unknown) input dims of a model imported without shapes.

Every free dim is first 1, as ONNX Runtime's tools take it: the batch, and a sequence of one
token. Some models cannot run with a time axis of one step (a text CNN's Conv1d of width 3,
a wav2vec feature extractor's strided convolutions); when the import fails, the free dims that
never lead an input (sequence, samples, frames) are tried again at each size of `LADDER`,
lengths text and audio models are usually exported at, while the batch stays 1. Shapes a
caller gives are never changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

import onnx

from gedialects.errors import FrontendError, InvalidModelError

LADDER: tuple[int, ...] = (16, 128, 1024)
"""The lengths tried, shortest first, for free dims that do not lead an input."""

Shapes = Mapping[str, Sequence[int]]
T = TypeVar("T")


def import_with_free_dims(
    model: onnx.ModelProto, given: Shapes | None, build: Callable[[Shapes | None], T]
) -> T:
    """`build(given)`; if that fails, `build` with the free non-leading dims at each size of
    `LADDER` in turn; the first error if every size fails too."""
    try:
        return build(given)
    except FrontendError as error:
        for shapes in longer_shapes(model, given or {}):
            try:
                return build(shapes)
            except FrontendError:
                continue
        guessed = {n: a for n, a in free_input_axes(model).items() if n not in (given or {})}
        if guessed and not isinstance(error, InvalidModelError):  # ours, not the user's sizes
            from ge.frontends.onnx.loading import first_line

            error.args = (f"{first_line(str(error))} {_guess_hint(guessed)}",)
        raise error


def _guess_hint(guessed: Mapping[str, Sequence[int]]) -> str:
    dims = ", ".join(f"'{name}' axes {list(axes)}" for name, axes in guessed.items())
    example = ", ".join(f"'{name}': [...]" for name in guessed)
    return (
        f"(the model leaves dims free ({dims}); they were compiled at guessed sizes, 1 and "
        f"then {', '.join(map(str, LADDER))} for non-leading ones: give the sizes you run "
        f"with, ge.compile(..., input_shapes={{{example}}}) or ge-run --inputs IN.npz)"
    )


def longer_shapes(model: onnx.ModelProto, given: Shapes) -> Iterator[dict[str, list[int]]]:
    """Input shapes with the free non-leading dims at each size of `LADDER`; none when the
    model has no such dim. A named dim that leads any input stays 1 everywhere."""
    initialized = {t.name for t in model.graph.initializer}
    inputs = [
        (i.name, list(i.type.tensor_type.shape.dim))
        for i in model.graph.input
        if i.name not in initialized and i.name not in given
        and i.type.tensor_type.HasField("shape")
    ]  # fmt: skip
    leading = {dims[0].dim_param for _, dims in inputs if dims and dims[0].dim_param}
    free = [
        (name, [None if d.HasField("dim_value") else k > 0 and d.dim_param not in leading
                for k, d in enumerate(dims)])
        for name, dims in inputs
    ]  # fmt: skip
    if not any(long for _, marks in free for long in marks):
        return
    for length in LADDER:
        shapes = {k: list(v) for k, v in given.items()}
        for (name, dims), (_, marks) in zip(inputs, free):
            shapes[name] = [
                d.dim_value if long is None else (length if long else 1)
                for d, long in zip(dims, marks)
            ]
        yield shapes


def free_input_axes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """The axes of each graph input (not an initializer) that the model leaves free: a
    symbolic or unknown dim. Inputs declared without a shape are left out."""
    initialized = {t.name for t in model.graph.initializer}
    free = {}
    for i in model.graph.input:
        if i.name in initialized or not i.type.tensor_type.HasField("shape"):
            continue
        axes = [
            k for k, d in enumerate(i.type.tensor_type.shape.dim) if not d.HasField("dim_value")
        ]
        if axes:
            free[i.name] = axes
    return free
