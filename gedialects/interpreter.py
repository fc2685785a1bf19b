"""The reference interpreter: xDSL's `Interpreter` with numpy implementations of our ops.

`GeFunctions` is generated from `gedialects.ge.semantics.REFERENCE`, so every op with a
reference meaning is executable; dialects added later register their own functions
through `register_reference_functions`.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, ModuleOp, StringAttr, TensorType
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Attribute, Operation

from gedialects.errors import InterpretationError
from gedialects.ge.semantics import REFERENCE
from gedialects.ge.semantics.registry import quiet
from gedialects.ge.types import (
    element_of,
    format_type,
    from_records,
    shape_of,
    to_numpy_dtype,
)
from gedialects.npu.attrs import BufferType

NAME_ATTR = "ge.name"
"""Argument / result attribute that keeps a model's input and output names."""


OBSERVERS: list[Callable[[Operation, float], None]] = []
"""Called with (op, host seconds) after each op the reference interpreter runs (profiling)."""


def _functions_class(name: str, table: Mapping[type, Any]) -> type[InterpreterFunctions]:
    body: dict[str, Any] = {}
    for op_type, fn in table.items():

        def run(self, interpreter, op, args, fn=fn):  # noqa: ANN001
            if OBSERVERS:
                start = time.perf_counter()
                out = fn(op, *args)
                for observe in OBSERVERS:
                    observe(op, time.perf_counter() - start)
            else:
                out = fn(op, *args)
            return out if isinstance(out, tuple) else (out,)

        body[f"run_{op_type.__name__}"] = impl(op_type)(run)
    return register_impls(type(name, (InterpreterFunctions,), body))


_EXTRA_FUNCTIONS: list[type[InterpreterFunctions]] = []


def register_reference_functions(functions: type[InterpreterFunctions]) -> None:
    """Add another dialect's interpreter functions to every reference interpreter."""
    if functions not in _EXTRA_FUNCTIONS:
        _EXTRA_FUNCTIONS.append(functions)


def reference_functions(table: Mapping[type, Any], name: str) -> type[InterpreterFunctions]:
    """Interpreter functions for a table of `op_type -> fn(op, *arrays)`."""
    return _functions_class(name, table)


GeFunctions = _functions_class("GeFunctions", REFERENCE)


SEMANTICS_MODULES: tuple[str, ...] = (
    "gedialects.kernel.semantics",
    "gedialects.npu.semantics",
    "gedialects.control.semantics",
)
"""Modules that register interpreter functions of other dialects when imported."""


def _import_semantics() -> None:
    for name in SEMANTICS_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is None or not name.startswith(error.name):
                raise


def make_interpreter(module: ModuleOp) -> Interpreter:
    _import_semantics()
    interpreter = Interpreter(module)
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(GeFunctions())
    for functions in _EXTRA_FUNCTIONS:
        interpreter.register_implementations(functions())
    return interpreter


def entry_function(module: ModuleOp, name: str | None = None) -> func.FuncOp:
    """The function to run: `name`, else `main`, else the only public function."""
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    if name is not None:
        found = [f for f in funcs if f.sym_name.data == name]
    else:
        found = [f for f in funcs if f.sym_name.data == "main"] or funcs[:1]
    if not found:
        raise InterpretationError(f"the module has no function '{name or 'main'}' to run")
    return found[0]


def _names(attrs: Any, count: int, prefix: str) -> list[str]:
    names = []
    for i in range(count):
        entry = attrs.data[i] if attrs is not None else None
        if isinstance(entry, DictionaryAttr) and isinstance(entry.data.get(NAME_ATTR), StringAttr):
            names.append(entry.data[NAME_ATTR].data)
        else:
            names.append(f"{prefix}{i}")
    return names


def input_names(fn: func.FuncOp) -> list[str]:
    return _names(fn.arg_attrs, len(fn.function_type.inputs.data), "arg")


def output_names(fn: func.FuncOp) -> list[str]:
    return _names(fn.res_attrs, len(fn.function_type.outputs.data), "result")


def array_signature(t: Attribute) -> tuple[tuple[int, ...], np.dtype] | None:
    """(shape, dtype) of the arrays an argument of type `t` takes: a tensor, or a device
    buffer (an npu-level program's); None for a scalar (a condition, an index)."""
    if isinstance(t, TensorType):
        return shape_of(t), to_numpy_dtype(element_of(t))
    if isinstance(t, BufferType):
        return tuple(t.dims), t.dtype
    return None


def bind_inputs(
    fn: func.FuncOp, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    """Check inputs against the function's signature and order them."""
    names = input_names(fn)
    types = fn.function_type.inputs.data
    if isinstance(inputs, Mapping):
        missing = [n for n in names if n not in inputs]
        if missing:
            raise InterpretationError(f"missing input(s) {missing}; the model takes {names}")
        values = [inputs[n] for n in names]
    else:
        values = list(inputs)
        if len(values) != len(types):
            raise InterpretationError(f"expected {len(types)} inputs {names}, got {len(values)}")
    bound = []
    for name, value, t in zip(names, values, types):
        signature = array_signature(t)
        if signature is None:  # a scalar (a condition, an index): as given
            bound.append(value)
            continue
        array = np.asarray(value)
        want_shape, want_dtype = signature
        if array.shape != want_shape:
            raise InterpretationError(
                f"input '{name}' has shape {array.shape}, the model wants {format_type(t)}"
            )
        array = from_records(array, want_dtype)
        if array.dtype != want_dtype:
            if not np.can_cast(array.dtype, want_dtype, casting="same_kind"):
                raise InterpretationError(
                    f"input '{name}' has dtype {array.dtype}, the model wants {format_type(t)}"
                )
            array = array.astype(want_dtype)
        bound.append(array)
    return bound


def run_reference(
    module: ModuleOp,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    entry: str | None = None,
) -> list[np.ndarray]:
    """Interpret `entry` (default `main`) of `module` on numpy inputs; returns its results.

    numpy's floating-point warnings are off, as on the npu interpreter: NaN and infinity are
    what the ops define (a softmax over a row masked to -inf is NaN in ONNX and here), and a
    command's stderr is for its one line of error."""
    fn = entry_function(module, entry)
    args = bind_inputs(fn, inputs)
    with quiet():
        results = make_interpreter(module).call_op(fn, tuple(args))
    return [np.asarray(r) for r in results]
