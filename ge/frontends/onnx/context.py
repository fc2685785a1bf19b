"""The state of one import: ONNX value names to SSA values, constants, and the node view.

`GraphState` holds the block being built, the SSA value of every ONNX name, and the
numpy value of every value known at import time (initializers, Constant nodes, and the
results of ops whose operands are all known, folded with the reference semantics).
`Node` is what a converter sees: typed access to one node's inputs, constant inputs and
attributes (with ONNX defaults), and `emit`, which adds a `ge` op or folds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, TensorType
from xdsl.ir import Attribute, Block, Operation, SSAValue

from gedialects.errors import FrontendError, UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.semantics import REFERENCE, evaluate
from gedialects.ge.types import element_of, from_numpy_dtype, shape_of, to_numpy_dtype

FOLD_LIMIT = 1 << 16
"""Ops whose operands are all constant are folded at import when the result has at most
this many elements or no more than the operands (a weight's transpose, cast or scale)."""


class NoConverterError(UnsupportedError):
    """A standard ONNX op ge has no converter for, whose inputs are not all constants."""

    op_type: str = ""
    """The op without a converter (it may sit inside the subgraph of the failing node)."""


class DataDependentError(UnsupportedError):
    """What a node gives depends on run-time values in a way one static graph cannot hold
    (If branches of different shapes, a Loop's scan outputs of run-time length)."""


class RuntimeConditionError(DataDependentError):
    """A top-level If branches on a condition only a run knows. One module holds it as an
    `scf.if` (which runs on the reference interpreter); a staged compile instead compiles
    the rest of the graph per value of the condition, so the taken branch runs on the npu."""


class NonConstantInputError(UnsupportedError):
    """An input that fixes a shape (Reshape's shape, Slice's starts...) is not a constant."""

    def __init__(self, message: str, value_name: str):
        super().__init__(message)
        self.value_name = value_name


def onnx_element_type(elem_type: int, what: str) -> Attribute:
    """The `ge` element type of an ONNX TensorProto data type, or UnsupportedError."""
    name = onnx.TensorProto.DataType.Name(elem_type) if elem_type else "UNDEFINED"
    try:
        return from_numpy_dtype(helper.tensor_dtype_to_np_dtype(elem_type))
    except (TypeError, KeyError, ValueError):
        raise UnsupportedError(
            f"{what} has element type {name}, which ge does not support"
        ) from None


def numpy_dtype(elem_type: int, what: str) -> np.dtype:
    return to_numpy_dtype(onnx_element_type(elem_type, what))


def _raw_bytes(array: np.ndarray) -> bytes | None:
    """The bytes object `array` views in full (np.frombuffer(...).reshape(...)), if any."""
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    if isinstance(root.base, bytes) and len(root.base) == array.nbytes:
        return root.base if array.flags.c_contiguous else None
    return None


class GraphState:
    """SSA values and known constants of the graph being imported."""

    def __init__(self, block: Block, source: str):
        self.root = block
        self.block = block
        self.source = source
        self.values: dict[str, SSAValue] = {}
        self.consts: dict[SSAValue, np.ndarray] = {}
        self.small: dict[tuple, SSAValue] = {}
        """Tiny constants by (dtype, shape, bytes), so a scalar is made once."""
        self.convert: Callable[[onnx.NodeProto], None] | None = None
        """Converts one node in this state (set by the importer; used for subgraphs)."""

    @contextlib.contextmanager
    def building(self, block: Block) -> Iterator[None]:
        """Emit ops into `block` (a loop body or a branch); constants stay in the root."""
        saved = self.block
        self.block = block
        try:
            yield
        finally:
            self.block = saved

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Names bound inside (a subgraph's values) do not outlive it."""
        saved = dict(self.values)
        try:
            yield
        finally:
            self.values = saved

    def constant(self, array: np.ndarray) -> SSAValue:
        array = np.asarray(array)
        key = None
        if array.size <= 16:
            key = (array.dtype.str, array.shape, array.tobytes())
            if key in self.small:
                return self.small[key]
        try:
            raw = _raw_bytes(array)
            if raw is not None:
                # A view of an initializer's raw bytes: use them without another copy.
                element = from_numpy_dtype(array.dtype)
                shape = TensorType(element, list(array.shape))
                op = ConstantOp(DenseIntOrFPElementsAttr(shape, BytesAttr(raw)))
            else:
                op = ConstantOp(array)
        except TypeError:
            raise UnsupportedError(f"constant of dtype {array.dtype} is not supported") from None
        self.root.add_op(op)
        self.consts[op.output] = array
        if key is not None:
            self.small[key] = op.output
        return op.output

    def emit(self, op: Operation) -> list[SSAValue]:
        """Add `op`, or fold it into constants when every operand is known and small."""
        known = [self.consts.get(v) for v in op.operands]
        if type(op) in REFERENCE and all(k is not None for k in known):
            sizes = [int(np.prod(shape_of(r.type), dtype=np.int64)) for r in op.results]
            if sum(sizes) <= max(FOLD_LIMIT, sum(k.size for k in known)):
                results = evaluate(op, *known)
                op.drop_all_references()  # the op is never inserted; free its operands
                dtypes = [to_numpy_dtype(element_of(r.type)) for r in op.results]
                # copy=False: a folded transpose of a weight stays a view until the constant
                # copies it (once) into its attribute
                return [
                    self.constant(np.asarray(a).astype(t, copy=False))
                    for a, t in zip(results, dtypes)
                ]
        self.block.add_op(op)
        return list(op.results)


class Node:
    """One ONNX node as a converter sees it."""

    def __init__(self, state: GraphState, proto: onnx.NodeProto, opset: int):
        self.state = state
        self.proto = proto
        self.opset = opset
        self.op_type = proto.op_type
        self.name = proto.name or (proto.output[0] if proto.output else "?")
        self.attrs = {a.name: helper.get_attribute_value(a) for a in proto.attribute}

    # -- inputs ---------------------------------------------------------------
    @property
    def num_inputs(self) -> int:
        return len(self.proto.input)

    def has(self, index: int) -> bool:
        return index < len(self.proto.input) and self.proto.input[index] != ""

    def value(self, index: int) -> SSAValue:
        if not self.has(index):
            raise self.error(f"needs input {index}")
        name = self.proto.input[index]
        if name not in self.state.values:
            raise self.error(f"input '{name}' is not defined before the node")
        return self.state.values[name]

    def optional(self, index: int) -> SSAValue | None:
        return self.value(index) if self.has(index) else None

    def inputs(self) -> list[SSAValue]:
        return [self.value(i) for i in range(self.num_inputs) if self.has(i)]

    def const(self, index: int, what: str = "") -> np.ndarray:
        """The value of input `index`, which must be known at import time."""
        value = self.value(index)
        if value not in self.state.consts:
            name = self.proto.input[index]
            raise NonConstantInputError(
                f"{self.describe()}: input '{name}'{f' ({what})' if what else ''} must be a "
                "constant at import (ge shapes are static)",
                name,
            )
        return self.state.consts[value]

    def const_or(self, index: int, default: Any, what: str = "") -> Any:
        return self.const(index, what) if self.has(index) else default

    def is_const(self, index: int) -> bool:
        return self.has(index) and self.value(index) in self.state.consts

    def shape(self, index: int) -> tuple[int, ...]:
        return shape_of(self.value(index).type)

    @staticmethod
    def shape_of(value: SSAValue) -> tuple[int, ...]:
        return shape_of(value.type)

    def wants(self, output: int) -> bool:
        """Whether output `output` of the node is used (named)."""
        return output < len(self.proto.output) and self.proto.output[output] != ""

    def rank(self, index: int) -> int:
        return len(self.shape(index))

    def dtype(self, index: int) -> np.dtype:
        return self.dtype_of(self.value(index))

    @staticmethod
    def dtype_of(value: SSAValue) -> np.dtype:
        return to_numpy_dtype(element_of(value.type))

    # -- attributes -----------------------------------------------------------
    def attr(self, name: str, default: Any = None) -> Any:
        value = self.attrs.get(name, default)
        return value.decode() if isinstance(value, bytes) else value

    def ints(self, name: str, default: Sequence[int] | None = None) -> list[int] | None:
        value = self.attrs.get(name)
        return [int(v) for v in value] if value is not None else default

    # -- building -------------------------------------------------------------
    def emit(self, op: Operation) -> SSAValue:
        return self.state.emit(op)[0]

    def emit_all(self, op: Operation) -> list[SSAValue]:
        return self.state.emit(op)

    def constant(self, array: Any, dtype: Any = None) -> SSAValue:
        return self.state.constant(np.asarray(array, dtype=dtype))

    # -- errors ---------------------------------------------------------------
    def describe(self) -> str:
        return f"node '{self.name}' ({self.op_type})"

    def error(self, message: str) -> FrontendError:
        return FrontendError(f"{self.state.source}: {self.describe()}: {message}")

    def unsupported(self, message: str) -> UnsupportedError:
        return UnsupportedError(f"{self.state.source}: {self.describe()}: {message}")

    def data_dependent(self, message: str) -> DataDependentError:
        return DataDependentError(f"{self.state.source}: {self.describe()}: {message}")
