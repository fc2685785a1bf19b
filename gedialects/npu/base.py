"""The base of every npu op and the mixed static/dynamic index lists the ops carry.

A window (`%buf[%i, 0] [64, %n]`) is one DenseArray of ints with a placeholder where an SSA
value stands, plus the list of those values (xDSL's DynamicIndexList); `mixed` and `split_mixed`
go between that pair and one Python list, for every op module of the dialect.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DYNAMIC_INDEX, DenseArrayBase, i64
from xdsl.dialects.utils.dynamic_index_list import get_dynamic_index_list
from xdsl.ir import SSAValue
from xdsl.irdl import IRDLOperation

from gedialects.errors import GeVerifyError

I64_ARRAY = DenseArrayBase.constr(i64)


def mixed(static: DenseArrayBase, dynamic: Sequence[SSAValue]) -> list[int | SSAValue]:
    """The entries of a mixed index list: ints, or the SSA values standing for dynamic ones."""
    return get_dynamic_index_list(static.get_values(), dynamic, DYNAMIC_INDEX)


def split_mixed(values: Sequence[int | SSAValue]) -> tuple[DenseArrayBase, list[SSAValue]]:
    static = [v if isinstance(v, int) else DYNAMIC_INDEX for v in values]
    return DenseArrayBase.from_list(i64, static), [v for v in values if not isinstance(v, int)]


class NpuOp(IRDLOperation):
    """Base of npu ops: errors name the op."""

    def fail(self, message: str) -> GeVerifyError:
        return GeVerifyError(f"'{self.name}': {message}")
