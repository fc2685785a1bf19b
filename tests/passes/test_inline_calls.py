"""inline-calls keeps what random programs compute when their body is a called function."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Region

from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.strategies import programs_with_inputs
from gedialects.interpreter import entry_function

EXAMPLES = max(200, settings.default.max_examples)
"""The pass must hold on at least 200 random programs in CI (more under `soak`)."""


def _called_through(module: ModuleOp, calls: int, private: bool) -> ModuleOp:
    """`module`'s @main renamed @body, and a new @main that calls it `calls` times, each
    output taken from a different call, so every inlined copy must be right."""
    body = entry_function(module)
    body.sym_name = StringAttr("body")
    if private:
        body.sym_visibility = StringAttr("private")
    signature = body.function_type
    block = Block(arg_types=signature.inputs.data)
    results = []
    for _ in range(calls):
        call = func.CallOp("body", list(block.args), list(signature.outputs.data))
        block.add_op(call)
        results.append(call.results)
    outputs = [results[i % calls][i] for i in range(len(signature.outputs.data))]
    block.add_op(func.ReturnOp(*outputs))
    module.body.block.add_op(func.FuncOp("main", signature, Region(block)))
    return module


@settings(max_examples=EXAMPLES)
@given(programs_with_inputs(max_ops=6), st.integers(1, 3), st.booleans())
def test_inlining_keeps_the_outputs(case, calls: int, private: bool) -> None:
    module, inputs = case
    module = _called_through(module, calls, private)
    after = assert_preserves_semantics("inline-calls", module, inputs)
    assert after is not None
    assert not any(isinstance(op, func.CallOp) for op in after.walk())
    names = [op.sym_name.data for op in after.ops if isinstance(op, func.FuncOp)]
    assert names == (["main"] if private else ["body", "main"])


def test_the_npu_level_runs_a_program_of_called_functions() -> None:
    """ge-run compiled only @main and failed: 'Could not find symbol @helper'; dynamic
    mode launched the call as an op of its own."""
    from xdsl.dialects.builtin import f32

    import ge
    from ge.testing import run
    from gedialects.ge import ops
    from gedialects.ge.types import tensor

    t = tensor([2, 3], f32)
    helper_block = Block(arg_types=[t])
    relu = ops.ReluOp(helper_block.args[0])
    helper_block.add_ops([relu, func.ReturnOp(relu.results[0])])
    helper = func.FuncOp("helper", ((t,), (t,)), Region(helper_block), "private")
    main_block = Block(arg_types=[t])
    call = func.CallOp("helper", [main_block.args[0]], [t])
    main_block.add_ops([call, func.ReturnOp(call.results[0])])
    module = ModuleOp([helper, func.FuncOp("main", ((t,), (t,)), Region(main_block))])
    x = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
    expected = run(module, [x])[0]
    for mode in ("static", "dynamic"):
        got = ge.compile(module, level="npu", mode=mode, cache=False)(x)
        np.testing.assert_array_equal(np.asarray(got), expected)
    assert any(isinstance(op, func.CallOp) for op in module.walk())  # the user's module kept
