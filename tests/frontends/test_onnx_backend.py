"""ONNX's backend node test suite through the ONNX importer and the reference interpreter.

Every case of `onnx.backend.test.case.node.collect_testcases()` whose ops the importer
converts is imported and run; it must match ONNX's expected outputs (the case's rtol and
atol, 1e-3 and 1e-7 by default, and the same dtype and shape), or be listed in
`onnx_backend_expected_failures.txt` and fail exactly the listed way. Inputs that fix
shapes (Reshape's shape, Slice's starts, ...) are bound as initializers by
`GeBackend.prepare_with_inputs`, since ge shapes are static.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ge.frontends.onnx.backend import collect_cases, reason_of, run_covered, summarize

EXPECTED_FILE = Path(__file__).with_name("onnx_backend_expected_failures.txt")

REQUIRED_OPS = """Conv BatchNormalization Relu Clip LeakyRelu HardSigmoid HardSwish Gelu Sigmoid
Tanh
Erf Exp Log Sqrt Reciprocal Neg Abs Add Sub Mul Div Pow Max Min Sum Where MatMul Gemm Transpose
Reshape Flatten Squeeze Unsqueeze Concat Slice Gather Split Pad Expand Softmax LogSoftmax
LayerNormalization Dropout Identity MaxPool AveragePool GlobalAveragePool ReduceSum ReduceMean
ReduceMax ReduceL2 Cast Shape ConstantOfShape Range Resize Equal Less Greater Not And LRN
GlobalMaxPool ConvTranspose PRelu InstanceNormalization""".split()


def read_expected(path: Path = EXPECTED_FILE) -> dict[str, tuple[str, str]]:
    """Case name -> (outcome kind, reason) from the expected-failures file."""
    expected = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind, reason = line.split(maxsplit=2)
            assert name not in expected, f"{name} is listed twice"
            expected[name] = (kind, reason.strip())
    return expected


@pytest.fixture(scope="module")
def cases():
    return collect_cases()


@pytest.fixture(scope="module")
def outcomes(cases):
    return run_covered(cases)


def test_covered_cases_pass_or_fail_as_listed(outcomes):
    expected = read_expected()
    problems = []
    for name, outcome in outcomes.items():
        listed = expected.get(name)
        if outcome.kind == "pass":
            if listed:
                problems.append(f"{name}: passes but is listed as {listed[0]}; unlist it")
            continue
        if listed is None:
            problems.append(f"{name}: {outcome.kind}: {outcome.detail}")
        elif listed[0] != outcome.kind:
            problems.append(f"{name}: listed as {listed[0]}, but {outcome.kind}: {outcome.detail}")
        elif listed[0].endswith("Error") and listed[1] not in reason_of(outcome):
            problems.append(f"{name}: listed for '{listed[1]}', but fails with: {outcome.detail}")
    stale = sorted(set(expected) - set(outcomes))
    problems += [f"{name}: listed but not a covered case" for name in stale]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_required_ops_pass_their_cases(cases, outcomes):
    table = summarize(cases, outcomes)
    missing = [op for op in REQUIRED_OPS if op in table and table[op]["pass"] == 0]
    assert not missing, f"required ops with no passing backend case: {missing}"
    absent = [op for op in REQUIRED_OPS if op not in table]
    assert len(absent) < 5, f"the suite no longer has cases for {absent}"


def test_summary(cases, outcomes, capsys):
    table = summarize(cases, outcomes)
    passed = sum(o.kind == "pass" for o in outcomes.values())
    ops_passing = sum(1 for row in table.values() if row["pass"])
    rows = [f"{op} {r['pass']}/{r['covered']}" for op, r in sorted(table.items()) if r["covered"]]
    with capsys.disabled():
        print(
            f"\nONNX backend node cases: {passed} pass of {len(outcomes)} covered "
            f"({len(cases)} in the suite); {ops_passing} ops with passing cases"
        )
        print(textwrap.fill(", ".join(rows), width=100))
    assert passed > 900
