"""Mutation tests of the commands' contract on bad input: a FileCheck input or an ONNX backend
node model, mutated by one edit (a dim, an element type, an op name, a dropped token,
attribute or line; an attribute value, a dropped or swapped operand, an input's dim or
type, the opset), run through ge-opt or ge-run. Either the command succeeds, or it exits 1
with readable lines and no `internal error` (a bug's line). One-off runs of these mutators
found a parser crash (`array<i100: 0>`), numpy's IndexError for a Gather index past its axis,
a ZeroDivisionError for a CumSum of a rank-0 input, and a node named once per stage.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ge.cli import opt, run
from ge.frontends.onnx.backend import collect_cases, covered

FILECHECK = Path(__file__).parents[1] / "filecheck"
NUMBER = re.compile(r"-?\d+")
DIM = re.compile(r"(?<=[<x])\d+(?=x)")
ELEMENT = re.compile(r"\b(f32|f16|bf16|i1|i8|i32|i64)\b")
OP_NAME = re.compile(r"\b(ge|kernel|npu)\.[a-z_0-9]+\b")
ATTRIBUTE = re.compile(r"\w+ = [^,}]+")


def _ge_opt_runs() -> list[tuple[str, list[str]]]:
    """(input text, ge-opt arguments) of every FileCheck RUN line that runs ge-opt on %s."""
    found = []
    for path in sorted(FILECHECK.rglob("*.mlir")):
        text = path.read_text()
        for line in text.splitlines():
            match = re.match(r"// RUN: (?:not )?ge-opt %s((?:\s.*)?)$", line)
            if not match:
                continue
            args = []
            for arg in shlex.split(match.group(1)):
                if arg in ("&&", "|", ">", "2>&1"):
                    break
                args.append(arg)
            if "--split-input-file" not in args and "--verify-diagnostics" not in args:
                found.append((text, args))
    return found


RUNS = _ge_opt_runs()
OP_NAMES = sorted({m.group(0) for text, _ in RUNS for m in OP_NAME.finditer(text)})


def _mutate_text(text: str, data: st.DataObject) -> str:
    lines = text.splitlines()
    body = [
        i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("//")
    ]
    i = data.draw(st.sampled_from(body), label="line")
    kind = data.draw(st.sampled_from(["dim", "element", "op", "number", "token", "attr", "line"]))
    line = lines[i]
    if kind == "line":
        lines[i] = ""
        return "\n".join(lines) + "\n"
    pattern = {"dim": DIM, "element": ELEMENT, "op": OP_NAME, "number": NUMBER}.get(kind)
    spans = list((pattern or (ATTRIBUTE if kind == "attr" else re.compile(r"\S+"))).finditer(line))
    if not spans:
        return text
    span = data.draw(st.sampled_from(spans), label="span")
    replacement = {
        "dim": st.sampled_from(["0", "1", "3", "64"]),
        "element": st.sampled_from(["f32", "f16", "i1", "i32", "i64"]),
        "op": st.sampled_from(OP_NAMES),
        "number": st.sampled_from(["-1", "0", "2", "100"]),
    }.get(kind, st.just(""))
    new = data.draw(replacement, label="replacement")
    lines[i] = line[: span.start()] + new + line[span.end() :]
    return "\n".join(lines) + "\n"


def _assert_contract(code: int, err: str, what: str) -> None:
    assert code in (0, 1), what
    if code == 1:
        lines = err.strip().splitlines()
        assert lines and "Traceback" not in err, f"{what}\n{err}"
        assert "internal error" not in err, f"{what}\n{err}"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_text_ir_gives_ge_opt_output_or_one_located_error(
    data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, args = data.draw(st.sampled_from(RUNS), label="run")
    mutated = _mutate_text(text, data)
    path = tmp_path / "mutated.mlir"
    path.write_text(mutated)
    capsys.readouterr()
    code = opt.main([str(path), *(a.replace("%t", str(tmp_path / "t")) for a in args)])
    err = capsys.readouterr().err
    _assert_contract(code, err, f"ge-opt {' '.join(args)} on:\n{mutated}")
    if code == 1:
        assert len(err.strip().splitlines()) == 1, err


CASES = [case for case in collect_cases() if covered(case)]


def _mutate_model(model: onnx.ModelProto, data: st.DataObject) -> onnx.ModelProto:
    mutated = onnx.ModelProto()
    mutated.CopyFrom(model)
    graph = mutated.graph
    node = data.draw(st.sampled_from(list(graph.node)), label="node")
    kind = data.draw(
        st.sampled_from(["int", "ints", "drop_attr", "drop_input", "swap", "dim", "dtype", "opset"])
    )
    ints = [a for a in node.attribute if a.type == onnx.AttributeProto.INT]
    lists = [a for a in node.attribute if a.type == onnx.AttributeProto.INTS and a.ints]
    shaped = [i for i in graph.input if i.type.tensor_type.shape.dim]
    if kind == "int" and ints:
        data.draw(st.sampled_from(ints)).i = data.draw(st.sampled_from([-3, -1, 0, 2, 5, 100]))
    elif kind == "ints" and lists:
        attr = data.draw(st.sampled_from(lists))
        at = data.draw(st.integers(0, len(attr.ints) - 1))
        attr.ints[at] = data.draw(st.sampled_from([-2, 0, 3, 9]))
    elif kind == "drop_attr" and node.attribute:
        del node.attribute[data.draw(st.integers(0, len(node.attribute) - 1))]
    elif kind == "drop_input" and len(node.input) > 1:
        node.input[data.draw(st.integers(1, len(node.input) - 1))] = ""
    elif kind == "swap" and len(node.input) > 1:
        i, j = data.draw(st.permutations(range(len(node.input))))[:2]
        node.input[i], node.input[j] = node.input[j], node.input[i]
    elif kind == "dim" and shaped:
        dims = data.draw(st.sampled_from(shaped)).type.tensor_type.shape.dim
        dims[data.draw(st.integers(0, len(dims) - 1))].dim_value = data.draw(
            st.sampled_from([0, 1, 3, 7])
        )
    elif kind == "dtype" and graph.input:
        data.draw(st.sampled_from(list(graph.input))).type.tensor_type.elem_type = data.draw(
            st.sampled_from([1, 6, 7, 9, 10])
        )
    elif kind == "opset":
        mutated.opset_import[0].version = data.draw(st.sampled_from([7, 9, 11, 13]))
    return mutated


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_onnx_models_give_ge_run_outputs_or_readable_errors(
    data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = data.draw(st.sampled_from(CASES), label="case")
    mutated = _mutate_model(case.model, data)
    path = tmp_path / "mutated.onnx"
    path.write_bytes(mutated.SerializeToString())
    capsys.readouterr()
    args = [str(path), "--level", "reference", "--no-cache", "--seed", "0"]
    code = run.main([*args, "--output", str(tmp_path / "out.npz")])
    err = capsys.readouterr().err
    _assert_contract(
        code, err, f"ge-run on {case.name}, mutated:\n{onnx.printer.to_text(mutated.graph)}"
    )
    if code == 0:  # every output is written, in a form numpy reads back (e5m2 was not)
        with np.load(tmp_path / "out.npz") as written:
            assert sorted(written.files) == sorted(o.name for o in mutated.graph.output)
            for name in written.files:
                written[name]  # reads the member: raises on a header numpy refuses
