"""A model with free input dims, compiled for each input shape it is called with.

An ONNX model exported with dynamic axes (batch, sequence length) is compiled at first for
free dims of 1 (`ge.frontends.onnx.free_dims`), as onnxruntime's tools take them; a torch
module for its example inputs' shapes, every dim of which is free (torch.export specializes
on them). ge's graphs are static, so a call with other sizes of free dims compiles the model
again for them, once per shape (through the compile cache, which holds every shape met), as
`torch.compile` does per shape and GE per shape it is given; a dim an ONNX model fixes must
keep its size, and a call that changes one (or an input's rank) gets an error naming the input
and the dim it fixes. `dynamic_batch=[...]` serves varying batches through gears instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from gedialects.errors import InterpretationError

Shapes = tuple[tuple[int, ...], ...]


class ShapeSpecializedModel:
    """Compiled models of one ONNX model, one per input shape; otherwise it behaves as the
    compiled model it last ran (its names, profile, plan, ...)."""

    def __init__(
        self,
        first: Any,
        free_axes: Mapping[str, Sequence[int]],
        build: Callable[[dict[str, list[int]], list[Any]], Any],
    ):
        self.current = first
        self.input_names: list[str] = list(first.input_names)
        self._free = {name: set(axes) for name, axes in free_axes.items()}
        """`build(shapes by input name, the call's inputs)`: the model compiled for them."""
        self._build = build
        self._by_shapes: dict[Shapes, Any] = {self.shapes_of(first): first}
        self._declared: tuple[tuple[int, ...] | None, ...] = self.shapes_of(first)
        """The input shapes fixed dims are checked against (free ones may differ)."""

    @classmethod
    def at_first_call(cls, model: Any, build: Callable[..., Any]) -> ShapeSpecializedModel:
        """An ONNX model none of whose guessed free-dim sizes import (an exporter fixed a
        sequence length in a Reshape): nothing is compiled until a call brings shapes."""
        from ge.frontends.onnx.free_dims import free_input_axes
        from ge.frontends.onnx.loading import declared_dims

        self = cls.__new__(cls)
        initialized = {t.name for t in model.graph.initializer}
        inputs = [i for i in model.graph.input if i.name not in initialized]
        self.current = None
        self.input_names = [i.name for i in inputs]
        self._free = {name: set(axes) for name, axes in free_input_axes(model).items()}
        self._build = build
        self._by_shapes = {}
        self._declared = tuple(
            None if (dims := declared_dims(i)) is None else tuple(d or 0 for d in dims)
            for i in inputs
        )
        return self

    @staticmethod
    def shapes_of(compiled: Any) -> Shapes:
        stage = getattr(compiled, "first", compiled)  # a staged model: its first stage's
        return tuple(tuple(s) for s in stage.input_shapes)

    def __getattr__(self, name: str) -> Any:
        current = self.__dict__.get("current")
        if current is None:
            raise AttributeError(
                f"'{name}' is not known yet: this model compiles at its first call, for the "
                "shapes it brings (no guessed size of its free dims imports)"
            )
        return getattr(current, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.for_inputs(args, kwargs)(*args, **kwargs)

    def run(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        return self.for_inputs(args, kwargs).run(*args, **kwargs)

    @property
    def shapes_compiled(self) -> list[Shapes]:
        """The input shapes compiled so far, in the order they were first met."""
        return list(self._by_shapes)

    def for_inputs(self, args: tuple, kwargs: dict) -> Any:
        """The compiled model for these inputs' shapes, compiled now if it is their first
        call; an InterpretationError naming the input and dim when a fixed dim differs."""
        values = [kwargs.get(n) for n in self.input_names] if kwargs else list(args)
        if len(values) != len(self.input_names) or any(v is None for v in values):
            if self.current is None:
                raise InterpretationError(
                    f"expected {len(self.input_names)} inputs {self.input_names}, "
                    f"got {len(values)}"
                )
            return self.current  # its binding names what is missing
        shapes = tuple(tuple(int(d) for d in np.shape(v)) for v in values)
        compiled = self._by_shapes.get(shapes)
        if compiled is None:
            mismatch = self._fixed_dim_mismatch(shapes)
            if mismatch is not None:
                raise InterpretationError(mismatch)
            given = {n: list(s) for n, s in zip(self.input_names, shapes)}
            compiled = self._by_shapes[shapes] = self._build(given, values)
        self.current = compiled
        return compiled

    def _fixed_dim_mismatch(self, shapes: Shapes) -> str | None:
        """What in `shapes` differs from the model beyond its free dims, in one line (free
        dims shown as `?`), or None when only free dims differ."""
        for name, got, known in zip(self.input_names, shapes, self._declared):
            if known is None:  # an input declared without a shape: its import checks it
                continue
            free = self._free.get(name, set())
            wanted = (
                "(" + ", ".join("?" if k in free else str(d) for k, d in enumerate(known)) + ")"
            )
            if len(got) != len(known):
                return (
                    f"input '{name}' has shape {got}, the model wants rank {len(known)}: {wanted}"
                )
            fixed = [k for k, (a, b) in enumerate(zip(got, known)) if a != b and k not in free]
            if fixed:
                dims = ", ".join(f"dim {k} is {known[k]}" for k in fixed)
                return f"input '{name}' has shape {got}, the model wants {wanted} ({dims})"
        return None
