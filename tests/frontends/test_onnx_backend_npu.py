"""ONNX's backend node cases at the npu level: every case of the sample that passes at the
reference level also passes when compiled with `level="npu"` and run on the npu interpreter,
and two more runs (replays of the captured work, merged and pruned: `runtime.npu_replay`)
give the first run's outputs bit for bit.

The sample is every case whose name matches an edge the npu level must survive (control flow
of recurrent layers and If/Scan, zero-element tensors, f64 and scalar epilogues, which crashed
it before), plus every 8th other case; the whole suite is `benchmarks/onnx_backend_npu.py`
(about 5 minutes). The sample runs in `SHARDS` tests so that `pytest -n` spreads it over
the workers. GE_NPU_STRICT=1 is set for tests, so a lowering bug fails here instead of
falling back to the reference.
"""

from __future__ import annotations

import functools

import pytest

from ge.frontends.onnx.backend import collect_cases, covered, run_case, run_case_on_npu

EDGES = (
    *("gru", "lstm", "rnn", "scan", "test_if", "empty_set", "zero", "allowzero"),
    *("out_of_bounds", "scalar_bias", "flexattention", "linear_attention", "causal_conv"),
)
SHARDS = 8


@functools.cache
def _sample() -> tuple:
    cases = [c for c in collect_cases() if covered(c)]
    edges = [c for c in cases if any(e in c.name for e in EDGES)]
    rest = [c for c in cases if c not in edges]
    return (*edges, *rest[::8])


def test_the_sample_holds_the_edges_and_enough_cases() -> None:
    names = [c.name for c in _sample()]
    assert len(names) > 200
    for edge in EDGES:
        assert any(edge in n for n in names), edge


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(SHARDS))
def test_sampled_backend_cases_pass_at_the_npu_level(shard: int) -> None:
    cases = _sample()[shard::SHARDS]
    passing = [c for c in cases if run_case(c).kind == "pass"]  # at the reference level
    failed = {c.name: problem for c in passing if (problem := run_case_on_npu(c, warm_runs=2))}
    assert len(passing) > len(cases) // 2
    assert not failed, failed
