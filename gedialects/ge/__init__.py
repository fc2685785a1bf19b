"""The `ge` dialect: framework-level graph ops on tensors (the high IR)."""

from xdsl.ir import Dialect

from gedialects.ge import ops
from gedialects.ge.base import GeOp
from gedialects.ge.constant import ConstantOp
from gedialects.ge.ops import *  # noqa: F403

_OP_NAMES = list(
    dict.fromkeys(
        name
        for family in ops.FAMILIES
        for name, cls in vars(family).items()
        if isinstance(cls, type) and issubclass(cls, GeOp) and "name" in cls.__dict__
    )
)
ALL_OPS: list[type] = [ConstantOp, *[getattr(ops, n) for n in _OP_NAMES]]

# Loop-indexing ops (recurrent layers as scf.for) are ge ops, but not graph ops.
from gedialects.ge.sequence import LOOP_OPS  # noqa: E402

GE = Dialect("ge", [*ALL_OPS, *LOOP_OPS], [])

__all__ = ["GE", "ALL_OPS", "ConstantOp", "GeOp", *_OP_NAMES]
