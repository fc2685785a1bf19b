"""Dense slot numbers for SSA values: the interpreter's environment is a list, not a dict.

xDSL's SSA values hash through a Python method, so a dict keyed by them costs more than the
numpy work of a small tile; compiled steps index a list by the slot of each value instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.ir import SSAValue


class Slots:
    """A dense slot number per SSA value, so `env` is a list (SSA values hash slowly)."""

    def __init__(self) -> None:
        self.index: dict[SSAValue, int] = {}

    def __call__(self, value: SSAValue) -> int:
        slot = self.index.get(value)
        if slot is None:
            slot = self.index[value] = len(self.index)
        return slot

    def mixed(self, items: Sequence[int | SSAValue]) -> tuple[list[int], tuple]:
        """A mixed index list as (static values, ((position, slot), ...) of dynamic ones)."""
        static = [item if isinstance(item, int) else 0 for item in items]
        dynamic = tuple((i, self(v)) for i, v in enumerate(items) if not isinstance(v, int))
        return static, dynamic

    def new_env(self) -> list:
        return [None] * len(self.index)


def resolve(env: list, static: list[int], dynamic: tuple) -> list[int]:
    if not dynamic:
        return static
    values = list(static)
    for pos, slot in dynamic:
        values[pos] = env[slot]
    return values


def window_function(
    offsets: tuple[list[int], tuple], sizes: tuple[list[int], tuple], shape: tuple[int, ...]
) -> Callable[[list], tuple | None]:
    """f(env) -> (slices, sizes) of a mixed window (`Slots.mixed` lists) of a buffer of `shape`,
    or None if part of it is past the buffer. One generated function, so resolving a DMA's
    dynamic window, checking it and slicing costs one call, not a loop per axis."""
    (o_static, o_dynamic), (s_static, s_dynamic) = offsets, sizes
    o_slot, s_slot = dict(o_dynamic), dict(s_dynamic)
    loads, checks, slices, extents = [], [], [], []
    for axis, dim in enumerate(shape[: min(len(o_static), len(s_static))]):
        o, s = str(o_static[axis]), str(s_static[axis])
        if axis in o_slot:
            loads.append(f"o{axis} = env[{o_slot[axis]}]")
            o = f"o{axis}"
        if axis in s_slot:
            loads.append(f"s{axis} = env[{s_slot[axis]}]")
            s = f"s{axis}"
        if axis in o_slot or axis in s_slot:
            checks.append(f"{o} < 0 or {s} <= 0 or {o} + {s} > {dim}")
        elif not (0 <= o_static[axis] and 0 < s_static[axis] <= dim - o_static[axis]):
            checks.append("True")  # a static window past the buffer
        slices.append(f"slice({o}, {o} + {s})")
        extents.append(s)
    window = f"({', '.join(slices)},)" if slices else "(Ellipsis,)"  # 0-d: a view, not a scalar
    body = [*loads, *(f"if {c}:\n        return None" for c in checks)]
    body.append(f"return {window}, [{', '.join(extents)}]")
    source = "def window(env):\n    " + "\n    ".join(body) + "\n"
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 (text built above from ints)
    return namespace["window"]
