"""Shared helpers of the ONNX export tests: build a `ge` module from a function, run a model
in onnxruntime, and check an export against the reference interpreter."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue

from ge.frontends.onnx_export import export_onnx
from ge.testing import run
from gedialects.ge import ConstantOp
from gedialects.ge.types import tensor_like

RNG = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def positive(*shape: int) -> np.ndarray:
    return RNG.uniform(0.2, 2.0, shape).astype(np.float32)


def c(array: np.ndarray) -> ConstantOp:
    return ConstantOp(np.asarray(array))


def _ops_reaching(values: Sequence[SSAValue]) -> list[Operation]:
    """The ops that compute `values`, in an order where operands come first."""
    order: list[Operation] = []
    seen: set[Operation] = set()

    def visit(owner: object) -> None:
        if not isinstance(owner, Operation) or owner in seen:
            return
        seen.add(owner)
        for operand in owner.operands:
            visit(operand.owner)
        order.append(owner)

    for v in values:
        visit(v.owner)
    return order


def _names(names: Sequence[str]) -> ArrayAttr:
    return ArrayAttr([DictionaryAttr({"ge.name": StringAttr(n)}) for n in names])


def build(
    inputs: Sequence[np.ndarray],
    body: Callable[..., object],
    in_names: Sequence[str] | None = None,
    out_names: Sequence[str] | None = None,
) -> ModuleOp:
    """A module whose `main` takes arrays shaped like `inputs` and returns `body(*args)`."""
    block = Block(arg_types=[tensor_like(a) for a in inputs])
    out = body(*block.args)
    outs = out if isinstance(out, list | tuple) else [out]
    values = [SSAValue.get(v) for v in outs]
    block.add_ops([*_ops_reaching(values), func.ReturnOp(*values)])
    fn = func.FuncOp(
        "main",
        ([a.type for a in block.args], [v.type for v in values]),
        Region(block),
        arg_attrs=_names(in_names) if in_names else None,
        res_attrs=_names(out_names) if out_names else None,
    )
    module = ModuleOp([fn])
    module.verify()
    return module


def run_onnx(model: onnx.ModelProto, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {i.name: a for i, a in zip(session.get_inputs(), inputs)}
    return session.run(None, feeds)


def assert_exports(module: ModuleOp, inputs: Sequence[np.ndarray]) -> onnx.ModelProto:
    """The exported model is valid and onnxruntime computes what the reference computes."""
    model = export_onnx(module)
    onnx.checker.check_model(model, full_check=True)
    assert_close(run_onnx(model, inputs), run(module, inputs), str(module))
    return model


def assert_close(actual: Sequence[np.ndarray], expected: Sequence[np.ndarray], what: str) -> None:
    assert len(actual) == len(expected), what
    for a, e in zip(actual, expected):
        assert a.dtype == e.dtype and a.shape == e.shape, what
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5, err_msg=what)
