"""Shared machinery of `kernel` ops: provenance, epilogue activations, mirrored kernels.

A kernel is a `GeOp` (the same builder, result-type inference and verifier machinery of
`gedialects.ge.base`) that also records `fused_from`, the high-level ops it replaces, and
an optional `algorithm` chosen later by implementation selection.

Epilogue activations are named by the `ge` op they stand for (`"relu"` is `ge.relu`) with
that op's properties in a dictionary, so their meaning is the `ge` op's reference meaning.
A *mirrored* kernel takes the operands, properties, type rule and reference meaning of one
`ge` op unchanged (data movement and the rarer ops).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, StringAttr
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    OptOperandDef,
    OptPropertyDef,
    VarOperandDef,
    VarResultDef,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    var_operand_def,
    var_result_def,
)

from gedialects.ge import ops as ge_ops
from gedialects.ge.base import GeOp, Props

STRING_ARRAY = ArrayAttr[StringAttr]


def provenance(op: Operation) -> list[str]:
    """The high-level op names `op` stands for: a kernel's `fused_from`, else its own name."""
    return list(op.fused_names) if isinstance(op, KernelOp) else [op.name]


def fused_from_attr(names: Sequence[str] | ArrayAttr) -> ArrayAttr:
    if isinstance(names, ArrayAttr):
        return names
    return ArrayAttr([StringAttr(n) for n in names])


class KernelOp(GeOp):
    """Base of all `kernel` ops: a `GeOp` that records what it was fused from."""

    fused_from = prop_def(STRING_ARRAY)
    algorithm = opt_prop_def(StringAttr)

    def __init__(self, *operands: SSAValue | Any, fused_from: Sequence[str], **props: Any):
        super().__init__(*operands, fused_from=fused_from_attr(fused_from), **props)

    @property
    def fused_names(self) -> list[str]:
        """The high-level op names this kernel replaces, in program order."""
        return [s.data for s in self.fused_from.data]

    def present(self, names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
        """`values` (what stands for the trailing operands: arrays, buffers, values) by the
        name of the optional operand each is, among `names` in order, absent ones skipped."""
        return dict(zip([n for n in names if getattr(self, n) is not None], values))

    def verify_(self) -> None:
        if not self.fused_from.data:
            raise self.fail("fused_from must name at least one high-level op")
        super().verify_()


# ---------------------------------------------------------------------------
# Epilogue activations
# ---------------------------------------------------------------------------

ACTIVATIONS: dict[str, type[GeOp]] = {
    cls.name.removeprefix("ge."): cls
    for cls in (
        ge_ops.ReluOp,
        ge_ops.ClipOp,
        ge_ops.SigmoidOp,
        ge_ops.TanhOp,
        ge_ops.HardSwishOp,
        ge_ops.HardSigmoidOp,
        ge_ops.GeluOp,
        ge_ops.LeakyReluOp,
        ge_ops.EluOp,
        ge_ops.SoftplusOp,
        ge_ops.SiluOp,
    )
}
"""Activations an epilogue can apply, by short name -> the `ge` op that defines them."""


def activation_of(op: GeOp) -> tuple[str, DictionaryAttr] | None:
    """The epilogue form (name, properties) of a `ge` activation op, or None."""
    short = op.name.removeprefix("ge.")
    if ACTIVATIONS.get(short) is not type(op):
        return None
    return short, DictionaryAttr(dict(op.properties))


def check_activation(cls: type[GeOp], props: Props, key: str) -> None:
    """Raise unless property `key` names a known activation (absent means none)."""
    attr = props.get(key)
    if attr is None:
        return
    if not isinstance(attr, StringAttr) or attr.data not in ACTIVATIONS:
        known = ", ".join(sorted(ACTIVATIONS))
        raise cls.fail(f"{key} {attr} is not one of {known}")


# ---------------------------------------------------------------------------
# Mirrored kernels: one `ge` op, unchanged, as a kernel
# ---------------------------------------------------------------------------


class MirrorKernelOp(KernelOp):
    """A kernel with the operands, properties and type rule of the `ge` op `GE_OP`."""

    GE_OP: ClassVar[type[GeOp]]

    @classmethod
    def infer_result_types(
        cls, operand_types: Sequence[Attribute], props: Props
    ) -> list[Attribute]:
        rule = cls.GE_OP.infer_result_types.__func__  # type: ignore[attr-defined]
        return rule(cls, operand_types, props)


def _field_defs(ge_cls: type[GeOp]) -> dict[str, Any]:
    """Field definitions equal to those of the (decorated) `ge` op class."""
    definition = ge_cls.get_irdl_definition()
    fields: dict[str, Any] = {}
    for name, operand in definition.operands:
        if isinstance(operand, OptOperandDef):
            fields[name] = opt_operand_def()
        elif isinstance(operand, VarOperandDef):
            fields[name] = var_operand_def()
        else:
            fields[name] = operand_def()
    for name, result in definition.results:
        fields[name] = var_result_def() if isinstance(result, VarResultDef) else result_def()
    for name, prop in definition.properties.items():
        if name in ("fused_from", "algorithm"):
            continue
        make = opt_prop_def if isinstance(prop, OptPropertyDef) else prop_def
        fields[name] = make(prop.constr)
    return fields


def mirror(
    ge_cls: type[GeOp], doc: str | None = None, base: type[MirrorKernelOp] = MirrorKernelOp
) -> type[MirrorKernelOp]:
    """The kernel `kernel.<x>` that runs the `ge` op `ge.<x>` as one kernel (`base`: a
    subclass of MirrorKernelOp that adds behaviour, e.g. a casting kernel's)."""
    short = ge_cls.name.removeprefix("ge.")
    class_vars: dict[str, Any] = {}
    for klass in reversed(ge_cls.__mro__):
        if issubclass(klass, GeOp) and klass is not GeOp:
            class_vars.update((k, v) for k, v in vars(klass).items() if k.isupper())
    class_vars.pop("DEFAULTS", None)
    body: dict[str, Any] = {
        "name": f"kernel.{short}",
        "__doc__": doc or f"The `{ge_cls.name}` op as one kernel. {ge_cls.__doc__ or ''}",
        "__module__": __name__,
        "GE_OP": ge_cls,
        "DEFAULTS": dict(ge_cls.DEFAULTS),
        "assembly_format": ge_cls.assembly_format,
        **class_vars,
        **_field_defs(ge_cls),
    }
    body["__annotations__"] = {k: ClassVar[Any] for k in ("GE_OP", "DEFAULTS", *class_vars)}
    cls_name = "".join(p.capitalize() for p in short.split("_")) + "KernelOp"
    return irdl_op_definition(type(cls_name, (base,), body))


__all__ = [
    "ACTIVATIONS",
    "KernelOp",
    "MirrorKernelOp",
    "activation_of",
    "check_activation",
    "fused_from_attr",
    "mirror",
]
