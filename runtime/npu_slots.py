"""Dense slot numbers for SSA values: the interpreter's environment is a list, not a dict.

xDSL's SSA values hash through a Python method, so a dict keyed by them costs more than the
numpy work of a small tile; compiled steps index a list by the slot of each value instead.
"""

from __future__ import annotations

from collections.abc import Sequence

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
