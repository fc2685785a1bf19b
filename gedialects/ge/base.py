"""Shared machinery of `ge` ops: result-type inference, verification, builders.

Every `ge` op states its result types as a pure function of its operand types and
properties (`infer_result_types`). The verifier re-runs that function and compares, so a
shape or dtype error is reported in one place, with the op's name; builders call it so a
user never has to spell result types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    BoolAttr,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f64,
    i1,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    OptionalDef,
    ParsePropInAttrDict,
    VarOperandDef,
    VarResultDef,
    traits_def,
)
from xdsl.traits import Pure

from gedialects.errors import GeVerifyError
from gedialects.ge.types import element_of, format_type, is_bool, is_float, shape_of

Props = Mapping[str, Attribute]


def to_attr(value: Any) -> Attribute:
    """Turn a Python builder argument into a property attribute."""
    if isinstance(value, Attribute):
        return value
    if isinstance(value, bool | np.bool_):
        return BoolAttr.from_bool(bool(value))
    if isinstance(value, int | np.integer):
        return IntegerAttr(int(value), i64)
    if isinstance(value, float | np.floating):
        return FloatAttr(float(value), f64)
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, Sequence | np.ndarray):
        return DenseArrayBase.from_list(i64, [int(v) for v in value])
    raise TypeError(f"cannot turn {value!r} into a property")


def prop_ints(props: Props, name: str) -> tuple[int, ...]:
    attr = props[name]
    assert isinstance(attr, DenseArrayBase), attr
    return tuple(int(v) for v in attr.get_values())


def prop_int(props: Props, name: str) -> int:
    attr = props[name]
    assert isinstance(attr, IntegerAttr), attr
    return int(attr.value.data)


def prop_float(props: Props, name: str) -> float:
    attr = props[name]
    assert isinstance(attr, FloatAttr | IntegerAttr), attr
    return float(attr.value.data)


def prop_bool(props: Props, name: str) -> bool:
    attr = props.get(name)
    return isinstance(attr, IntegerAttr) and bool(attr.value.data)


def prop_str(props: Props, name: str) -> str:
    attr = props[name]
    assert isinstance(attr, StringAttr), attr
    return attr.data


class GeOp(IRDLOperation):
    """Base of all `ge` ops: pure, typed by inference, built without result types."""

    irdl_options = (ParsePropInAttrDict(),)
    traits = traits_def(Pure())

    DEFAULTS: ClassVar[dict] = {}
    """Property values a builder fills in when not given (ONNX's attribute defaults)."""

    @classmethod
    def infer_result_types(
        cls, operand_types: Sequence[Attribute], props: Props
    ) -> list[Attribute]:
        """The result types for these operand types and properties; raises on misuse."""
        raise NotImplementedError(cls.name)

    @classmethod
    def fail(cls, message: str) -> GeVerifyError:
        """An error that names this op, for `raise cls.fail(...)` in inference."""
        return GeVerifyError(f"'{cls.name}': {message}")

    def __init__(self, *operands: SSAValue | Operation | None, **props: Any):
        values = {**self.DEFAULTS, **props}
        properties = {k: to_attr(v) for k, v in values.items() if v is not None}
        grouped = _group_operands(type(self), operands)
        flat = [SSAValue.get(v) for g in grouped for v in (g if isinstance(g, list) else [g])]
        results = self.infer_result_types([v.type for v in flat], properties)
        super().__init__(
            operands=grouped,
            result_types=_group_results(type(self), results),
            properties=properties,
        )

    def __post_init__(self) -> None:
        """Every construction (builder, parser, `create`, clone) fills in the DEFAULTS a
        text IR or generic form left out, as MLIR does for default-valued attributes."""
        for name, value in self.DEFAULTS.items():
            if name not in self.properties and value is not None:
                self.properties[name] = to_attr(value)
        super().__post_init__()

    def verify_(self) -> None:
        expected = self.infer_result_types([o.type for o in self.operands], self.properties)
        actual = [r.type for r in self.results]
        if expected != actual:
            want = ", ".join(format_type(t) for t in expected)
            got = ", ".join(format_type(t) for t in actual)
            raise self.fail(f"result type {got} does not match the inferred {want}")

    # Typed access to properties, for semantics and passes.
    def ints(self, name: str) -> tuple[int, ...]:
        return prop_ints(self.properties, name)

    def get_int(self, name: str) -> int:
        return prop_int(self.properties, name)

    def get_float(self, name: str) -> float:
        return prop_float(self.properties, name)

    def get_flag(self, name: str) -> bool:
        return prop_bool(self.properties, name)

    def get_str(self, name: str) -> str:
        return prop_str(self.properties, name)


def _group_operands(
    cls: type[IRDLOperation], operands: Sequence[SSAValue | Operation | None]
) -> list[Any]:
    """Map positional builder operands onto the op's operand definitions."""
    defs = cls.get_irdl_definition().operands
    grouped: list[Any] = []
    rest = list(operands)
    for index, (_, definition) in enumerate(defs):
        if isinstance(definition, VarOperandDef) and not isinstance(definition, OptionalDef):
            tail = len(defs) - index - 1
            take = len(rest) - tail
            grouped.append([SSAValue.get(v) for v in rest[:take] if v is not None])
            rest = rest[take:]
        elif isinstance(definition, OptionalDef):
            v = rest.pop(0) if rest else None
            grouped.append([] if v is None else [SSAValue.get(v)])
        else:
            if not rest or rest[0] is None:
                raise TypeError(f"{cls.name} needs an operand '{definition}'")
            grouped.append(SSAValue.get(rest.pop(0)))
    if any(v is not None for v in rest):
        raise TypeError(f"{cls.name} got {len(operands)} operands, too many")
    return grouped


def _group_results(cls: type[IRDLOperation], results: list[Attribute]) -> list[Any]:
    defs = cls.get_irdl_definition().results
    if len(defs) == 1 and isinstance(defs[0][1], VarResultDef):
        return [results]
    return list(results)


# Checks shared by many ops' inference.


def require_tensor(cls: type[GeOp], what: str, t: Attribute) -> TensorType:
    if not isinstance(t, TensorType):
        raise cls.fail(f"{what} must be a ranked tensor, got {t}")
    return t


def require_float(cls: type[GeOp], what: str, t: Attribute) -> None:
    require_tensor(cls, what, t)
    if not is_float(element_of(t)):
        raise cls.fail(f"{what} must have a float element type, got {format_type(t)}")


def require_bool(cls: type[GeOp], what: str, t: Attribute) -> None:
    require_tensor(cls, what, t)
    if not is_bool(element_of(t)):
        raise cls.fail(f"{what} must have element type i1, got {format_type(t)}")


def require_same_element(cls: type[GeOp], types: Sequence[Attribute]) -> Attribute:
    for t in types:
        require_tensor(cls, "every operand", t)
    elements = {element_of(t) for t in types}
    if len(elements) != 1:
        listed = ", ".join(format_type(t) for t in types)
        raise cls.fail(f"operands must share one element type, got {listed}")
    return element_of(types[0])


def require_rank(cls: type[GeOp], what: str, t: Attribute, rank: int) -> tuple[int, ...]:
    shape = shape_of(require_tensor(cls, what, t))
    if len(shape) != rank:
        raise cls.fail(f"{what} must have rank {rank}, got {format_type(t)}")
    return shape


def normalize_axis(cls: type[GeOp], axis: int, rank: int) -> int:
    if not -max(rank, 1) <= axis < max(rank, 1):
        raise cls.fail(f"axis {axis} is out of range for rank {rank}")
    return axis % max(rank, 1)


def broadcast(cls: type[GeOp], shapes: Sequence[Sequence[int]]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        listed = " and ".join("x".join(map(str, s)) or "scalar" for s in shapes)
        raise cls.fail(f"shapes {listed} do not broadcast") from None


BOOL = i1
