"""Modules saved as text IR + side-car weights load back bit-exactly."""

import numpy as np
import pytest
from examples_path import load_example

from ge.registry import make_context
from ge.testing import run
from gedialects.ge import ConstantOp
from gedialects.serialization import SerializationError, load_module, save_module


def test_save_load_round_trip_is_bit_exact(tmp_path):
    module = load_example("main_job").resnet_basic_block(channels=4, size=6)
    save_module(module, tmp_path / "m.mlir")
    text = (tmp_path / "m.mlir").read_text()
    assert "elided<" in text and "dense<" not in text  # no weights in the text
    loaded = load_module(make_context(), tmp_path / "m.mlir")
    before = [op.to_numpy() for op in module.walk() if isinstance(op, ConstantOp)]
    after = [op.to_numpy() for op in loaded.walk() if isinstance(op, ConstantOp)]
    assert len(before) == len(after)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(before, after))
    x = np.random.default_rng(0).standard_normal((1, 4, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(run(module, [x])[0], run(loaded, [x])[0])


def test_missing_weights_are_a_clear_error(tmp_path):
    module = load_example("main_job").resnet_basic_block(channels=4, size=6)
    save_module(module, tmp_path / "m.mlir")
    (tmp_path / "m.mlir.weights.npz").unlink()
    with pytest.raises(SerializationError, match="no weights saved for constant sha256:"):
        load_module(make_context(), tmp_path / "m.mlir")


def test_garbage_weights_file_is_a_clear_error(tmp_path):
    module = load_example("main_job").resnet_basic_block(channels=4, size=6)
    save_module(module, tmp_path / "m.mlir")
    (tmp_path / "m.mlir.weights.npz").write_bytes(b"not a zip")
    with pytest.raises(SerializationError, match="not a valid npz"):
        load_module(make_context(), tmp_path / "m.mlir")


def test_narrow_weights_round_trip(tmp_path):
    """bf16, float8 and int4 weights: the .npz keeps them as raw records, read back as such."""
    import ml_dtypes
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.ir import Block, Region

    rng = np.random.default_rng(0)
    arrays = [
        rng.standard_normal((3, 70)).astype(np.float32).astype(ml_dtypes.bfloat16),
        rng.standard_normal(90).astype(np.float32).astype(ml_dtypes.float8_e4m3fn),
        rng.integers(-8, 8, 100).astype(ml_dtypes.int4),
    ]
    block = Block()
    consts = [ConstantOp(a) for a in arrays]
    block.add_ops([*consts, func.ReturnOp(*[c.output for c in consts])])
    types = [c.output.type for c in consts]
    module = ModuleOp([func.FuncOp("main", ([], types), Region(block))])
    save_module(module, tmp_path / "m.mlir")
    loaded = load_module(make_context(), tmp_path / "m.mlir")
    for want, got in zip(arrays, run(loaded, [])):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.astype(np.float32), want.astype(np.float32))
