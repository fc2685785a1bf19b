"""The compile cache: hits, atomic writes, corruption detection, versioning, concurrency."""

import multiprocessing
import warnings

import numpy as np
import pytest
from examples_path import load_example

from ge.registry import make_context
from ge.testing import run
from runtime import compile_cache
from runtime.compile_cache import CompileCache, cache_key


@pytest.fixture
def module():
    return load_example("main_job").resnet_basic_block(channels=4, size=6)


def _same_outputs(a, b):
    x = np.random.default_rng(0).standard_normal((1, 4, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(run(a, [x])[0], run(b, [x])[0])


def test_key_depends_on_every_part():
    base = cache_key("ir", target="ascend910a", shapes=[[1, 3]])
    assert base == cache_key("ir", target="ascend910a", shapes=[[1, 3]])
    assert base != cache_key("ir2", target="ascend910a", shapes=[[1, 3]])
    assert base != cache_key("ir", target="ascend910b1", shapes=[[1, 3]])
    assert base != cache_key("ir", target="ascend910a", shapes=[[2, 3]])


def test_disk_hit_in_a_fresh_cache(tmp_path, module):
    CompileCache(tmp_path).put("k", module, {"compile_seconds": 1.5})
    entry = CompileCache(tmp_path).get("k", make_context())
    assert entry is not None and entry.meta == {"compile_seconds": 1.5}
    _same_outputs(module, entry.module)


def test_miss_for_unknown_key(tmp_path):
    assert CompileCache(tmp_path).get("nope", make_context()) is None


@pytest.mark.parametrize("damage", ["corrupt", "truncate", "delete"])
def test_damaged_entry_is_reported_once_and_rebuilt(tmp_path, module, damage):
    CompileCache(tmp_path).put("k", module)
    weights = tmp_path / "k" / compile_cache.WEIGHTS_FILE
    data = weights.read_bytes()
    if damage == "corrupt":
        weights.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    elif damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    else:
        weights.unlink()
    cache = CompileCache(tmp_path)
    with pytest.warns(UserWarning, match="unusable"):
        assert cache.get("k", make_context()) is None
    assert not (tmp_path / "k").exists()  # removed, so the next put rebuilds it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.get("k", make_context()) is None  # reported once only
    cache.put("k", module)
    assert CompileCache(tmp_path).get("k", make_context()) is not None


def test_entry_of_another_version_is_not_used(tmp_path, module, monkeypatch):
    CompileCache(tmp_path).put("k", module)
    monkeypatch.setattr(compile_cache, "toolchain_version", lambda: "gedialects=99")
    with pytest.warns(UserWarning, match="another toolchain version"):
        assert CompileCache(tmp_path).get("k", make_context()) is None


def test_the_toolchain_changes_with_the_compiler_sources(tmp_path):
    """An editable install keeps its version number while its passes change: the cache's
    toolchain carries a digest of the compiler's sources, so an edit misses the old
    entries."""
    for package in compile_cache.COMPILER_PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "a.py").write_text("x = 1\n")
    before = compile_cache.compiler_digest(tmp_path)
    compile_cache.compiler_digest.cache_clear()
    (tmp_path / "passes" / "a.py").write_text("x = 2\n")
    assert compile_cache.compiler_digest(tmp_path) != before
    compile_cache.compiler_digest.cache_clear()
    (tmp_path / "runtime" / "preset.toml").write_text("name = 'x'\n")  # targets are data
    changed = compile_cache.compiler_digest(tmp_path)
    compile_cache.compiler_digest.cache_clear()
    assert compile_cache.compiler_digest(tmp_path) == changed  # stable for the same files
    assert f"compiler={compile_cache.compiler_digest()}" in compile_cache.toolchain_version()


def _writer(root: str, barrier) -> None:
    module = load_example("main_job").resnet_basic_block(channels=4, size=6)
    barrier.wait()
    for _ in range(5):
        CompileCache(root).put("shared", module, {"writer": True})


def test_two_processes_writing_the_same_entry(tmp_path, module):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    entry = CompileCache(tmp_path).get("shared", make_context())
    assert entry is not None
    _same_outputs(module, entry.module)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "shared"]
    assert leftovers == []


def _entry_bytes(folder) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def test_disk_is_capped_by_evicting_the_least_recently_used(tmp_path, module):
    """Three entries where two fit: the one not used since it was written goes first; a hit
    counts as a use."""
    import os

    CompileCache(tmp_path).put("a", module)
    size = _entry_bytes(tmp_path / "a")
    cache = CompileCache(tmp_path, max_bytes=2 * size + size // 2)
    cache.put("b", module)
    os.utime(tmp_path / "a", (1, 1))  # "a" written long ago ...
    os.utime(tmp_path / "b", (2, 2))
    fresh = CompileCache(tmp_path, max_bytes=cache.max_bytes)
    assert fresh.get("a", make_context())  # ... and used now
    cache.put("c", module)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c"]


def test_an_entry_larger_than_the_budget_is_not_kept(tmp_path, module):
    cache = CompileCache(tmp_path, max_bytes=10)
    cache.put("k", module)
    assert list(tmp_path.iterdir()) == []
    assert cache.get("k", make_context()) is not None  # still served from memory


def test_cache_budget_from_the_environment(monkeypatch):
    from gedialects.errors import GeError

    monkeypatch.setenv("GE_CACHE_MAX_BYTES", "1000")
    assert compile_cache.default_max_bytes() == 1000
    monkeypatch.setenv("GE_CACHE_MAX_BYTES", "4G")
    with pytest.raises(GeError, match="GE_CACHE_MAX_BYTES"):
        compile_cache.default_max_bytes()


def test_equal_bytes_in_two_shapes_share_their_weights(tmp_path):
    """Weights are saved by the digest of their bytes: [1, 2, 3] as (3,) and as (3, 1) are
    one entry, which the second constant could not take back ("weights ... have the wrong
    type"), so the entry was rebuilt on every compile and never hit."""
    from xdsl.parser import Parser

    text = """func.func @main(%x: tensor<3x3xf32>) -> (tensor<3x3xf32>, tensor<3x3xf32>) {
  %a = ge.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %b = ge.constant dense<[[1.0], [2.0], [3.0]]> : tensor<3x1xf32>
  %y = ge.add %x, %a : (tensor<3x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  %z = ge.add %x, %b : (tensor<3x3xf32>, tensor<3x1xf32>) -> tensor<3x3xf32>
  func.return %y, %z : tensor<3x3xf32>, tensor<3x3xf32>
}"""
    module = Parser(make_context(), text).parse_module()
    CompileCache(tmp_path).put("k", module, {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unusable entry warns
        entry = CompileCache(tmp_path).get("k", make_context())
    assert entry is not None
    x = np.zeros((3, 3), np.float32)
    for got, want in zip(run(entry.module, [x]), run(module, [x]), strict=True):
        np.testing.assert_array_equal(got, want)
