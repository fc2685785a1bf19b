"""Vector kernels that take a `ge.cast` on their input and result as part of the kernel.

A layer norm, softmax, pool or reduce kernel with the property `cast_to` computes in f32 (an
f16 input is converted on load, exactly: every f16 is an f32) and converts its result to
`cast_to` on the store, the vector unit's `vec_cast` before the DMA out. So `cast(norm(x))`,
`norm(cast(x))` and both at once are one kernel (`cast-cube-to-fp16` folds them), and the
f16 side crosses HBM in f16. Admitted: an f16 or f32 input, `cast_to` f16 or f32, not both
f32 (that is the plain kernel); every other operand keeps the f32 of the computation.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import AnyFloat, Float16Type, Float32Type, f32
from xdsl.ir import Attribute
from xdsl.irdl import opt_prop_def

from gedialects.ge.base import Props
from gedialects.ge.types import element_of, format_type, shape_of, tensor
from gedialects.kernel.base import KernelOp, MirrorKernelOp

IO_TYPES = (Float16Type, Float32Type)
"""Element types a casting kernel reads and writes."""


class CastingKernelOp(KernelOp):
    """A kernel whose `cast_to` makes it compute in f32 and store its result in `cast_to`."""

    cast_to = opt_prop_def(AnyFloat)

    @classmethod
    def compute_types(cls, operand_types: Sequence[Attribute], props: Props) -> list[Attribute]:
        """The result types of the kernel without a cast (its own type rule)."""
        raise NotImplementedError(cls.name)

    @classmethod
    def infer_result_types(
        cls, operand_types: Sequence[Attribute], props: Props
    ) -> list[Attribute]:
        to = props.get("cast_to")
        if to is None:
            return cls.compute_types(operand_types, props)
        x = operand_types[0]
        source = element_of(x) if hasattr(x, "get_element_type") else None
        if not isinstance(to, IO_TYPES) or not isinstance(source, IO_TYPES) or source == to == f32:
            raise cls.fail(
                f"cast_to {to} on a {format_type(x)} input: a casting kernel reads and writes "
                "f16 or f32 and casts at least one side"
            )
        rest = {name: value for name, value in props.items() if name != "cast_to"}
        computed = cls.compute_types([tensor(shape_of(x), f32), *operand_types[1:]], rest)
        return [tensor(shape_of(t), to) for t in computed]

    @property
    def casts(self) -> bool:
        return self.cast_to is not None


class CastingMirrorKernelOp(CastingKernelOp, MirrorKernelOp):
    """A mirrored kernel (its `ge` op's type rule and meaning) that is also a casting one."""

    @classmethod
    def compute_types(cls, operand_types: Sequence[Attribute], props: Props) -> list[Attribute]:
        return MirrorKernelOp.infer_result_types.__func__(cls, operand_types, props)  # type: ignore[attr-defined]


__all__ = ["CastingKernelOp", "CastingMirrorKernelOp", "IO_TYPES"]
