"""The user pattern of `examples/custom_pattern` keeps outputs and registers from its file."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from ge.testing.equivalence import assert_preserves_semantics
from gedialects.ge import HardSigmoidOp, HardSwishOp, MulOp, NegOp
from gedialects.ge.types import tensor

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "custom_pattern" / "hard_swish.py"
EXAMPLES = max(200, settings.default.max_examples)


def load_plugin():
    spec = importlib.util.spec_from_file_location("user_hard_swish", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RecognizeHardSwish = load_plugin().RecognizeHardSwish


@st.composite
def gated_programs(draw) -> tuple[ModuleOp, list[np.ndarray]]:
    """x * hard_sigmoid(x) with the right or a wrong gate, maybe a second gate user."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    block = Block(arg_types=[tensor(shape, f32)])
    x = block.args[0]
    alpha = draw(st.sampled_from([1 / 6, 0.2]))
    beta = draw(st.sampled_from([0.5, 0.4]))
    gate = HardSigmoidOp(x, alpha=alpha, beta=beta)
    mul = MulOp(x, gate) if draw(st.booleans()) else MulOp(gate, x)
    ops = [gate, mul]
    results = [mul.output]
    if draw(st.booleans()):
        ops.append(NegOp(gate))
        results.append(ops[-1].output)
    block.add_ops([*ops, func.ReturnOp(*results)])
    fn = func.FuncOp("main", ([x.type], [r.type for r in results]), Region(block))
    floats = st.floats(-8, 8, width=32)
    data = draw(npst.arrays(np.float32, shape, elements=floats))
    return ModuleOp([fn]), [data]


@settings(max_examples=EXAMPLES)
@given(gated_programs())
def test_user_pattern_preserves_semantics(case):
    module, inputs = case
    after = assert_preserves_semantics(RecognizeHardSwish(), module, inputs)
    gates = [op for op in module.walk() if isinstance(op, HardSigmoidOp)]
    right_gate = (
        gates[0].get_float("beta") == 0.5 and abs(gates[0].get_float("alpha") - 1 / 6) < 1e-9
    )
    found = any(isinstance(op, HardSwishOp) for op in after.walk())
    assert found == right_gate


def test_ge_opt_finds_the_user_pass_through_the_environment():
    source = (
        "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %g = ge.hard_sigmoid %x {alpha = 0.16666666666666666 : f64, beta = 0.5 : f64}"
        " : (tensor<4xf32>) -> tensor<4xf32>\n"
        "  %y = ge.mul %x, %g : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>\n"
        "  func.return %y : tensor<4xf32>\n}\n"
    )
    env = {**os.environ, "GE_PASS_PLUGINS": str(PLUGIN)}
    opt = [sys.executable, "-m", "ge.cli.opt", "-p", "recognize-hard-swish"]
    done = subprocess.run(opt, input=source, capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "ge.hard_swish" in done.stdout and "ge.hard_sigmoid" not in done.stdout


def test_a_broken_plugin_is_reported_by_name():
    env = {**os.environ, "GE_PASS_PLUGINS": "/no/such/plugin.py"}
    opt = [sys.executable, "-m", "ge.cli.opt", "-p", "dce"]
    done = subprocess.run(opt, input="", capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode != 0
    assert "/no/such/plugin.py" in done.stderr
