"""Which function lowers which kernel op to the npu dialect.

A lowering is a function `(op, inputs, output, target, name) -> ops` that receives the kernel
op, the HBM buffers of its operands and of its (one) result, and returns the npu ops to append
(`npu.kernel`s, `npu.reshape` views, HBM temporaries). It is registered by the module that
defines it with `@lowers(KernelClass, when=predicate)`; the predicates registered for one
class must be disjoint, so which lowering runs never depends on import order. Every module
`lowering/lower_*.py` is imported by `load_lowerings()`, so a new lowering is a new module and
no dispatch table is edited (the way MLIR's conversion patterns are collected from their
own files).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from xdsl.dialects.builtin import TensorType, bf16
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, is_narrow
from runtime.targets import Target

Lowering = Callable[
    [Operation, list[SSAValue], SSAValue, Target, str], "Sequence[Operation] | Operation"
]


@dataclass(frozen=True)
class RegisteredLowering:
    kinds: tuple[type, ...]
    when: Callable[[Operation], bool]
    lower: Lowering

    @property
    def name(self) -> str:
        return f"{self.lower.__module__}.{self.lower.__qualname__}"

    def matches(self, op: Operation) -> bool:
        return isinstance(op, self.kinds) and self.when(op)


_REGISTERED: list[RegisteredLowering] = []
_LOADED = False


def lowers(*kinds: type, when: Callable[[Operation], bool] | None = None) -> Callable:
    """Register the decorated function as the lowering of `kinds` ops for which `when` holds."""

    def register(fn: Lowering) -> Lowering:
        _REGISTERED.append(RegisteredLowering(kinds, when or (lambda op: True), fn))
        return fn

    return register


def load_lowerings() -> None:
    """Import every `lower_*` module of this package once, which registers its lowerings."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=str):
        if module.name.startswith("lower_"):
            importlib.import_module(f"{__package__}.{module.name}")


def lowering_for(op: Operation) -> Lowering:
    """The one registered lowering that takes `op`; `UnsupportedError` naming it if none."""
    load_lowerings()
    found = [r for r in _REGISTERED if r.matches(op)]
    if len(found) > 1:
        names = ", ".join(r.name for r in found)
        raise AssertionError(f"'{op.name}' matches several npu lowerings: {names}")
    if not found:
        described = f"'{op.name}'{_described(op)}"
        raise UnsupportedError(f"{described} has no lowering to the npu dialect yet")
    return found[0].lower


def lower_op(
    op: Operation, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """The npu ops that compute `op` from `inputs` into `output`."""
    _refuse_narrow_types(op, target)
    lowered = lowering_for(op)(op, inputs, output, target, name)
    return [lowered] if isinstance(lowered, Operation) else list(lowered)


def _refuse_narrow_types(op: Operation, target: Target) -> None:
    """The modeled vector and cube units compute f16/f32 and integers, and convert bf16 where
    the target says so (`vector.bf16`, the 910B); a kernel that converts to or from another
    narrow type (float8, float4, 2/4-bit integers: the casts `emulate-narrow-types` leaves)
    runs by reference."""
    for inner in op.walk():
        for value in (*inner.operands, *inner.results):
            if not isinstance(value.type, TensorType):
                continue
            element = element_of(value.type)
            if is_narrow(element) and not (element == bf16 and target.vector_bf16):
                raise UnsupportedError(
                    f"'{op.name}'{_described(op)} converts {element}, which the npu units "
                    f"of '{target.name}' do not compute"
                )


def _described(op: Operation) -> str:
    """` (kind=..., algorithm=...)`: the attributes that decide which lowering applies."""
    props = {**op.attributes, **op.properties}
    parts = [
        f"{key}={props[key].data}"
        for key in ("kind", "algorithm")
        if key in props and hasattr(props[key], "data")
    ]
    return f" ({', '.join(parts)})" if parts else ""
