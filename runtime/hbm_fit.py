"""Does a compiled model fit the target's HBM? Weights plus the planned activation arena.

`plan-memory` places every tensor a kernel writes in one arena (its peak is the plan's
`peak_bytes`); constants live in a fixed weight area beside it. A model needing more than
the target's `capacity.hbm` (32 GiB on ascend910a; a user's TOML target can be smaller) is
refused with one line before any kernel is lowered, instead of interpreting a chip that
could not hold it.
"""

from __future__ import annotations

from xdsl.dialects import func

from gedialects.errors import GeError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, num_elements, to_numpy_dtype
from runtime.targets import Target


def weight_bytes(fn: func.FuncOp, align: int) -> int:
    """Bytes of the function's constants, each rounded up to `align` as HBM places them."""
    import numpy as np

    total = 0
    for op in fn.body.block.ops:
        if isinstance(op, ConstantOp):
            t = op.output.type
            n = num_elements(t) * np.dtype(to_numpy_dtype(element_of(t))).itemsize
            total += -(-n // align) * align
    return total


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def check_hbm_fit(fn: func.FuncOp, arena_bytes: int, target: Target) -> None:
    """Raise a one-line GeError if weights + arena exceed the target's HBM."""
    capacity = target.capacity_of("hbm")
    weights = weight_bytes(fn, target.hbm_align)
    if weights + arena_bytes > capacity:
        raise GeError(
            f"the model needs {_size(weights + arena_bytes)} of device memory "
            f"({_size(weights)} of weights + {_size(arena_bytes)} of planned activations), "
            f"more than the {_size(capacity)} HBM of target '{target.name}'"
        )
