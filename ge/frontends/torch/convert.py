"""The state of one FX-graph import and the helpers that aten converters build with.

A `Converter` walks an FX graph of aten ops in order. Each call node is either folded
(every input is a literal or another folded node, e.g. `ones` + `tril` of a causal mask:
torch computes it once, eagerly, and it becomes a `ge.constant`) or handed to the
converter registered for its op in `ge.frontends.torch.table`. Converters get the node's
arguments bound by name from the op's schema, with FX nodes replaced by `ge` values, and
return an `SSAValue` (or a tuple for multi-result ops, `None` for a result we never build).
Every result is checked against the shape and dtype torch recorded in `node.meta["val"]`.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np
import torch
from torch import fx
from xdsl.ir import Block, Operation, SSAValue

from gedialects.errors import FrontendError, UnsupportedError
from gedialects.ge import CastOp, ConstantOp, ReshapeOp
from gedialects.ge.types import (
    element_of,
    format_type,
    from_numpy_dtype,
    shape_of,
    tensor,
    to_numpy_dtype,
)

_DTYPES: dict[torch.dtype, np.dtype] = {
    torch.float16: np.dtype(np.float16),
    torch.float32: np.dtype(np.float32),
    torch.float64: np.dtype(np.float64),
    torch.bool: np.dtype(np.bool_),
    torch.int8: np.dtype(np.int8),
    torch.int16: np.dtype(np.int16),
    torch.int32: np.dtype(np.int32),
    torch.int64: np.dtype(np.int64),
    torch.uint8: np.dtype(np.uint8),
    torch.bfloat16: np.dtype(ml_dtypes.bfloat16),
    torch.float8_e4m3fn: np.dtype(ml_dtypes.float8_e4m3fn),
    torch.float8_e5m2: np.dtype(ml_dtypes.float8_e5m2),
    torch.float8_e4m3fnuz: np.dtype(ml_dtypes.float8_e4m3fnuz),
    torch.float8_e5m2fnuz: np.dtype(ml_dtypes.float8_e5m2fnuz),
}
_BYTE = (torch.uint8, np.dtype(np.uint8))
_CARRIERS: dict[torch.dtype, tuple[torch.dtype, np.dtype]] = {
    torch.bfloat16: (torch.int16, np.dtype(np.int16)),
    torch.float8_e4m3fn: _BYTE,
    torch.float8_e5m2: _BYTE,
    torch.float8_e4m3fnuz: _BYTE,
    torch.float8_e5m2fnuz: _BYTE,
}
"""The integer tensor type whose bits torch and numpy both read, for the types numpy has only
through ml_dtypes (`Tensor.numpy()` refuses bfloat16 and float8)."""


def numpy_dtype(dtype: torch.dtype) -> np.dtype:
    """The numpy dtype of a torch dtype (ml_dtypes' for bfloat16 and float8); an
    `UnsupportedError` for complex and the like."""
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise UnsupportedError(f"torch dtype {dtype} is not supported by ge") from None


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A numpy copy of a (real) tensor's values."""
    dtype = numpy_dtype(t.dtype)
    t = t.detach().cpu().contiguous()
    if t.dtype in _CARRIERS:
        return t.view(_CARRIERS[t.dtype][0]).numpy().view(dtype)
    return t.numpy()


def to_torch(array: np.ndarray) -> torch.Tensor:
    """A tensor holding a copy of `array` (bfloat16 and float8 arrays too)."""
    array = np.array(array, copy=True, order="C")
    for torch_dtype, (_, numpy_carrier) in _CARRIERS.items():
        if array.dtype == _DTYPES[torch_dtype]:
            return torch.from_numpy(array.view(numpy_carrier)).view(torch_dtype)
    return torch.from_numpy(array)


class TrainingModeError(UnsupportedError):
    """A layer runs in training mode (dropout, batch statistics): what it computes is not
    an inference graph, so `ge.compile` asks for `model.eval()` instead of retrying the
    module through ONNX, whose export would keep the training behaviour."""


@dataclass(frozen=True)
class ComplexValue:
    """A complex tensor as its real and imaginary parts (`im` None: zero), which only the
    fft converters make and `real` / `imag` take apart: ge has no complex element type."""

    re: SSAValue
    im: SSAValue | None


def tensor_type(meta: torch.Tensor) -> Any:
    """The `ge` tensor type of a real or fake tensor."""
    if any(not isinstance(d, int) for d in meta.shape):
        raise UnsupportedError(f"dynamic shape {tuple(meta.shape)} is not supported")
    return tensor(tuple(meta.shape), from_numpy_dtype(numpy_dtype(meta.dtype)))


def dtype_of(v: SSAValue) -> np.dtype:
    """The numpy dtype of a `ge` tensor value."""
    return to_numpy_dtype(element_of(v.type))


def bind(target: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The op's arguments by schema name, with defaults filled in."""
    bound: dict[str, Any] = {}
    for i, arg in enumerate(target._schema.arguments):
        if i < len(args) and not arg.kwarg_only:
            bound[arg.name] = args[i]
        elif arg.name in kwargs:
            bound[arg.name] = kwargs[arg.name]
        elif arg.has_default_value():
            bound[arg.name] = arg.default_value
        else:
            bound[arg.name] = None
    return bound


class Converter:
    """Builds one `ge` block from the nodes of an FX graph."""

    def __init__(self, block: Block):
        self.block = block
        self.env: dict[fx.Node, Any] = {}
        self.folded: dict[fx.Node, Any] = {}
        self.node: fx.Node | None = None

    # ---- building ------------------------------------------------------------------
    def emit(self, op: Operation) -> SSAValue:
        """Append `op` and return its first result."""
        self.block.add_op(op)
        return op.results[0]

    def constant(self, array: np.ndarray) -> SSAValue:
        return self.emit(ConstantOp(np.asarray(array)))

    def scalar(self, value: float | bool, dtype: np.dtype) -> SSAValue:
        """A rank-0 constant of `dtype`, to broadcast against tensors."""
        return self.constant(np.asarray(value, dtype=dtype))

    def cast(self, v: SSAValue, dtype: np.dtype) -> SSAValue:
        if dtype_of(v) == np.dtype(dtype):
            return v
        return self.emit(CastOp(v, to=from_numpy_dtype(dtype)))

    def reshape(self, v: SSAValue, shape: Sequence[int]) -> SSAValue:
        if shape_of(v.type) == tuple(shape):
            return v
        return self.emit(ReshapeOp(v, shape=list(shape)))

    def operand(self, v: Any, dtype: np.dtype) -> SSAValue:
        """A tensor operand of `dtype`, from a `ge` value or a Python scalar."""
        if isinstance(v, SSAValue):
            return self.cast(v, dtype)
        if isinstance(v, bool | int | float):
            return self.scalar(v, dtype)
        raise self.unsupported(f"operand {v!r} is neither a tensor nor a number")

    # ---- facts about the current node ----------------------------------------------
    def meta(self, index: int | None = None) -> torch.Tensor:
        assert self.node is not None
        val = self.node.meta.get("val")
        if index is not None and isinstance(val, list | tuple):
            val = val[index]
        if not isinstance(val, torch.Tensor):
            raise self.unsupported("torch recorded no tensor result for it")
        return val

    def out_shape(self, index: int | None = None) -> tuple[int, ...]:
        meta = self.meta(index)
        if meta.is_complex():  # a part's shape (`complex_values`)
            return tuple(int(d) for d in meta.shape)
        return tuple(tensor_type(meta).get_shape())

    def out_dtype(self, index: int | None = None) -> np.dtype:
        """The result's element type; a complex result's parts' (float32 for complex64)."""
        dtype = self.meta(index).dtype
        if dtype.is_complex:
            return numpy_dtype(dtype.to_real())
        return numpy_dtype(dtype)

    def unsupported(self, why: str) -> UnsupportedError:
        node = self.node
        where = f"'{node.target}' (node '{node.name}')" if node is not None else "the graph"
        return UnsupportedError(f"torch import of {where}: {why}")

    def in_training_mode(self, layer: str) -> TrainingModeError:
        """The refusal of `layer` run in training mode (see `TrainingModeError`)."""
        error = self.unsupported(f"{layer} in training mode (call model.eval() first)")
        return TrainingModeError(str(error))

    # ---- walking the graph -----------------------------------------------------------
    def value(self, node: fx.Node) -> Any:
        """The `ge` value of a node; a folded node becomes a constant on first use."""
        if node not in self.env:
            if node not in self.folded:
                raise FrontendError(f"node '{node.name}' is used before it is defined")
            self.env[node] = self.materialize(self.folded[node])
        return self.env[node]

    def materialize(self, value: Any) -> Any:
        """A folded torch value (tensors, complex ones as pairs) as `ge` values."""
        if isinstance(value, torch.Tensor) and value.is_complex():
            from ge.frontends.torch.complex_values import complex_constant

            return complex_constant(self, value.detach().cpu().numpy())
        if isinstance(value, torch.Tensor):
            return self.constant(to_numpy(value))
        if isinstance(value, list | tuple):
            return tuple(self.materialize(v) for v in value)
        return value

    def convert(self, node: fx.Node, table: dict[str, Any], ignored: frozenset[str]) -> None:
        """Fold or convert one call node, then check its result against torch's."""
        self.node = node
        if self._foldable(node):
            args, kwargs = fx.node.map_arg((node.args, node.kwargs), lambda n: self.folded[n])
            try:
                self.folded[node] = node.target(*args, **kwargs)
            except Exception as error:  # torch's own error, on literal arguments
                raise FrontendError(
                    f"folding node '{node.name}' failed in torch: {error}"
                ) from error
            return
        if node.target is operator.getitem:
            self.env[node] = self._getitem(node)
            return
        if not isinstance(node.target, torch._ops.OpOverload):
            raise self.unsupported("only aten operators can be imported (no Python calls)")
        key = op_key(node.target)
        if key in ignored:
            self.env[node] = None
            return
        from ge.frontends.torch.complex_values import COMPLEX_ONLY, convert_complex

        handler = table.get(key)
        if handler is None and key not in COMPLEX_ONLY:
            supported = ", ".join(sorted(table))
            raise self.unsupported(f"the op is not supported; supported aten ops: {supported}")
        args, kwargs = fx.node.map_arg((node.args, node.kwargs), self.value)
        bound = bind(node.target, args, kwargs)
        value = convert_complex(self, key, handler, bound)
        if value is NotImplemented:
            value = handler(self, bound)
        value = self._check(value)
        if isinstance(value, SSAValue) and value.name_hint is None:
            value.name_hint = node.name
        self.env[node] = value

    def _foldable(self, node: fx.Node) -> bool:
        target = node.target
        if target is operator.getitem:
            return node.all_input_nodes[0] in self.folded
        if not isinstance(target, torch._ops.OpOverload):
            return False
        if torch.Tag.nondeterministic_seeded in target.tags:
            return False
        return all(n in self.folded for n in node.all_input_nodes)

    def _getitem(self, node: fx.Node) -> Any:
        source, index = node.args
        value = self.value(source)
        if not isinstance(value, tuple) or value[index] is None:
            raise self.unsupported(f"result {index} of '{source.name}' is not built by ge")
        return value[index]

    def _check(self, value: Any, index: int | None = None) -> Any:
        """Compare with torch's recorded result; cast where only the dtype differs."""
        if isinstance(value, tuple):
            return tuple(None if v is None else self._check(v, i) for i, v in enumerate(value))
        if isinstance(value, ComplexValue):  # torch records a complex tensor: check each part
            for part in (p for p in (value.re, value.im) if p is not None):
                self._check_one(part, index)
            return value
        return self._check_one(value, index)

    def _check_one(self, value: SSAValue, index: int | None) -> SSAValue:
        assert self.node is not None
        val = self.node.meta.get("val")
        if isinstance(val, list | tuple) and index is not None:
            val = val[index]
        if not isinstance(val, torch.Tensor):
            return value
        if val.is_complex():  # a part of it (`complex_values`): its shape
            if tuple(val.shape) != shape_of(value.type):
                raise FrontendError(
                    f"torch import of node '{self.node.name}' ({self.node.target}) built a "
                    f"part of {format_type(value.type)}, torch computes {tuple(val.shape)}"
                )
            return value
        want = tensor_type(val)
        if shape_of(value.type) != shape_of(want):
            raise FrontendError(
                f"torch import of node '{self.node.name}' ({self.node.target}) built "
                f"{format_type(value.type)}, torch computes {format_type(want)}"
            )
        return self.cast(value, numpy_dtype(val.dtype))


def op_key(target: Any) -> str:
    """The table key of an aten op overload: its packet name, e.g. `add` for `aten.add.Tensor`."""
    if isinstance(target, torch._ops.OpOverload):
        namespace, _, name = target.name().partition("::")
        name = name.split(".")[0]
        return name if namespace == "aten" else f"{namespace}::{name}"
    return getattr(target, "__name__", str(target))
