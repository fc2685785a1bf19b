"""Targets are data: presets carry DESIGN.md's figures; a TOML file loads or fails clearly."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gedialects.errors import GeError
from runtime.targets import PRESETS, TargetError, default_target, load_target

PRESET_DIR = Path(__file__).parents[2] / "runtime" / "target_presets"


def test_default_is_ascend910a_with_design_figures():
    t = default_target()
    assert t.name == "ascend910a" and t is load_target(None)
    assert (t.ai_cores, t.cube_m, t.cube_n, t.cube_k, t.clock_mhz) == (32, 16, 16, 16, 1000)
    kib = 1024
    assert t.capacity["l0a"] == t.capacity["l0b"] == 64 * kib
    assert (t.capacity["l0c"], t.capacity["l1"], t.capacity["ub"]) == (
        256 * kib,
        kib * kib,
        256 * kib,
    )
    assert t.capacity["l2"] == 32 * kib * kib
    assert t.rate("hbm", "l1") == 32 and t.rate("l1", "l0a") == 512 and t.rate("l1", "l0b") == 256
    assert t.rate("l0c", "ub") == 256 and t.rate("ub", "hbm") == 64 and t.rate("ub", "l1") == 128
    assert t.rate("l2", "ub") == 110 and t.l2_write_rate == 86
    assert (t.vector_lanes, t.vector_bytes_per_cycle, t.ub_block, t.hbm_align) == (
        128,
        256,
        32,
        512,
    )
    assert t.rate("hbm", "l0a") is None
    assert t.peak_flops_per_cycle == 32 * 2 * 16**3


def test_ascend910b1_differs_where_design_says():
    a, b = load_target("ascend910a"), load_target("ascend910b1")
    assert (b.ai_cores, b.vector_cores, b.clock_mhz) == (24, 48, 1850)
    assert b.capacity["l0c"] == 128 * 1024 and b.capacity["l1"] == 512 * 1024
    assert b.capacity["ub"] == 192 * 1024 and b.capacity["l2"] == 192 * 1024 * 1024
    assert b.rates == a.rates and b.capacity["l0a"] == a.capacity["l0a"]
    assert b.seconds(1850) == pytest.approx(1e-6)


def _preset_text(name: str = "ascend910a") -> str:
    return (PRESET_DIR / f"{name}.toml").read_text()


def test_user_file_loads(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        _preset_text()
        .replace('name = "ascend910a"', 'name = "mine"')
        .replace('ub = "256KiB"', "ub = 131072")
    )
    t = load_target(path)
    assert t.name == "mine" and t.capacity["ub"] == 128 * 1024
    assert load_target(str(path)).capacity == t.capacity


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("ai_cores = 32\n", ""), "key 'ai_cores' is missing"),
        (lambda s: s.replace("ai_cores = 32", 'ai_cores = "many"'), "key 'ai_cores' must be int"),
        (lambda s: s.replace("ai_cores = 32", "ai_cores = 0"), "key 'ai_cores' must be positive"),
        (lambda s: s.replace('l1 = "1MiB"', 'l1 = "1 MB"'), "key 'capacity.l1' must be a size"),
        (lambda s: s.replace('"hbm->l1" = 32', '"hbm->l9" = 32'), "key 'rates.hbm->l9' must name"),
        (
            lambda s: s.replace("m = 16", "m = 16\nmm = 3"),
            "key 'cube.mm' is not a target parameter",
        ),
        (lambda s: s.replace("[cube]", "[cube"), "is not valid TOML"),
        (lambda s: s.replace("hbm_align = 512", "hbm_align = 500"), "must be a power of two"),
        (lambda s: s.replace("bf16 = false", "bf16 = 1"), "key 'vector.bf16' must be true or"),
        (  # it loaded, then the lowering divided by the missing rate (a TypeError)
            lambda s: s.replace('"l2->ub" = 110\n', ""),
            """key 'rates."l2->ub"' is missing: the npu lowering moves data on it""",
        ),
    ],
)
def test_bad_files_name_file_and_key(tmp_path, edit, message):
    path = tmp_path / "bad.toml"
    path.write_text(edit(_preset_text()))
    with pytest.raises(TargetError, match="bad.toml") as info:
        load_target(path)
    assert message in str(info.value)
    assert isinstance(info.value, GeError)


def test_unknown_name():
    with pytest.raises(TargetError, match="unknown target 'ascend999'"):
        load_target("ascend999")


def test_presets_are_plain_toml():
    for name in PRESETS:
        data = tomllib.loads(_preset_text(name))
        assert data["name"] == name


def test_bf16_units_are_the_910b_s_and_optional_in_a_file(tmp_path):
    """`vector.bf16` (whether the vector unit converts bf16) is false on the 910A, true on the
    910B; a target file written before the key existed loads, without bf16."""
    assert not load_target("ascend910a").vector_bf16 and load_target("ascend910b1").vector_bf16
    text = "".join(
        line for line in _preset_text("ascend910b1").splitlines(True) if "bf16" not in line
    )
    path = tmp_path / "older.toml"
    path.write_text(text.replace('name = "ascend910b1"', 'name = "older"'))
    assert load_target(path).vector_bf16 is False


@pytest.mark.parametrize(("space", "size"), [("l1", "2KiB"), ("l0a", "512B"), ("l0c", "512B")])
def test_a_target_too_small_for_any_gemm_tile_runs_the_matmul_by_reference(tmp_path, space, size):
    """The tile search found nothing and `min()` of no candidates was an internal error
    (`ge-run` printed a two-line Python warning and fell back)."""
    import numpy as np
    from xdsl.parser import Parser

    import ge
    from ge.registry import make_context

    path = tmp_path / "small.toml"
    text = _preset_text().replace('name = "ascend910a"', 'name = "small"')
    path.write_text(re.sub(rf'^{space} = ".*"', f'{space} = "{size}"', text, flags=re.M))
    program = """func.func @main(%a: tensor<13x24xf32>, %b: tensor<24x20xf32>)
    -> tensor<13x20xf32> {
  %0 = ge.matmul %a, %b : (tensor<13x24xf32>, tensor<24x20xf32>) -> tensor<13x20xf32>
  func.return %0 : tensor<13x20xf32>
}"""
    module = Parser(make_context(), program).parse_module()
    compiled = ge.compile(module, target=path, level="npu", cache=False)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((13, 24), np.float32), rng.standard_normal((24, 20), np.float32)
    np.testing.assert_allclose(compiled(a, b), a @ b, rtol=1e-5, atol=1e-5)
    (kernel,) = compiled.last_profile["kernels"]
    assert kernel["engine"] == "reference"
    shown = size.replace("KiB", " KiB").replace("512B", "512 B")
    assert kernel["fallback_reason"].startswith("no tile of a 13x20x24 GEMM fits target small")
    assert f"{space} {shown}" in kernel["fallback_reason"]
