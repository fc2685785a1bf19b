"""An ONNX backend on the importer and the reference interpreter, and a runner for ONNX's cases.

`GeBackend` follows `onnx.backend.base.Backend` (prepare / run). ONNX's node test cases
feed every input at run time, including those that fix shapes (Reshape's shape, Slice's
starts); ge shapes are static, so `run_model` binds such an input as an initializer when
the importer asks for it (`NonConstantInputError`) and imports again. `run_case` runs one
of ONNX's backend test cases and says how it ended, for the tests and the coverage table.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import Backend, BackendRep

from ge.frontends.onnx.context import NonConstantInputError
from ge.frontends.onnx.expand import expand, onnx_inference
from ge.frontends.onnx.importer import SUPPORTED_OPS, import_onnx_model
from gedialects.errors import GeError
from gedialects.ge.types import is_integer_dtype
from gedialects.interpreter import run_reference


def bind_inputs(model: onnx.ModelProto, values: Mapping[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of `model` with the named graph inputs turned into initializers."""
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    keep = [i for i in bound.graph.input if i.name not in values]
    del bound.graph.input[:]
    bound.graph.input.extend(keep)
    for name, value in values.items():
        bound.graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
    return bound


class GeRep(BackendRep):
    """A prepared model: the imported module and the inputs bound into it."""

    def __init__(self, module: Any, bound: Mapping[str, np.ndarray], names: Sequence[str]):
        self.module, self.bound, self.names = module, bound, list(names)

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        if not isinstance(inputs, Mapping):
            inputs = dict(zip(self.names, inputs))
        free = {k: v for k, v in inputs.items() if k not in self.bound}
        return tuple(run_reference(self.module, free))


def _inputs_to_bind(
    name: str, inputs: Mapping[str, np.ndarray], bound: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The named input; or, for a value computed from inputs, every integer input (shapes
    are mostly computed from those); or, once they are all bound, every input (a Range
    expanded into a Loop computes its trip count from float inputs)."""
    if name in inputs:
        return {} if name in bound else {name: inputs[name]}
    free = {k: v for k, v in inputs.items() if k not in bound}
    integers = {k: v for k, v in free.items() if is_integer_dtype(np.asarray(v).dtype)}
    return integers or free


class GeBackend(Backend):
    """ONNX backend API over `import_onnx_model` and the reference interpreter."""

    @classmethod
    def prepare_with_inputs(cls, model: onnx.ModelProto, inputs: Mapping[str, np.ndarray]) -> GeRep:
        """Import `model`, binding inputs that must be constant from `inputs`."""
        bound: dict[str, np.ndarray] = {}
        current = model
        while True:
            try:
                module = import_onnx_model(current, source=model.graph.name or "<model>")
                return GeRep(module, bound, [i.name for i in model.graph.input])
            except NonConstantInputError as error:
                wanted = _inputs_to_bind(error.value_name, inputs, bound)
                if not wanted:
                    raise
                bound.update(wanted)
                current = bind_inputs(model, bound)

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> GeRep:
        return cls.prepare_with_inputs(model, {})

    @classmethod
    def run_model(
        cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU", **kwargs: Any
    ) -> tuple[np.ndarray, ...]:
        names = [i.name for i in model.graph.input]
        named = inputs if isinstance(inputs, Mapping) else dict(zip(names, inputs))
        return cls.prepare_with_inputs(model, named).run(named)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"


def op_types(graph: onnx.GraphProto) -> set[str]:
    """Every op type in a graph and its subgraphs (domain-qualified outside ONNX's)."""
    found = set()
    for node in graph.node:
        domain = "" if node.domain in ("", "ai.onnx") else node.domain + "."
        found.add(domain + node.op_type)
        for attr in node.attribute:
            for g in [attr.g] if attr.HasField("g") else list(attr.graphs):
                found |= op_types(g)
    return found


UPGRADED_OPS = frozenset({"Upsample"})
"""Retired ops the importer converts through `onnx.version_converter` (to Resize)."""


def covered(case: Any) -> bool:
    """Whether every op of a case is one the importer converts (after it expands the
    function bodies of ops it has no converter for)."""
    supported = set(SUPPORTED_OPS) | UPGRADED_OPS
    if op_types(case.model.graph) <= supported:
        return True
    return op_types(expand(case.model, onnx_inference, supported.__contains__).graph) <= supported


@dataclasses.dataclass
class Outcome:
    """How a case ended: `kind` is "pass", "mismatch", or an exception's class name."""

    name: str
    kind: str
    detail: str = ""


def _compare(expected: Sequence[Any], actual: Sequence[np.ndarray], rtol: float, atol: float):
    if len(expected) != len(actual):
        return f"{len(actual)} outputs, expected {len(expected)}"
    for i, (want, got) in enumerate(zip(expected, actual)):
        want = np.asarray(want)
        if want.dtype != got.dtype or want.shape != got.shape:
            return (
                f"output {i} is {got.dtype}{list(got.shape)}, "
                f"expected {want.dtype}{list(want.shape)}"
            )
        try:
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
        except AssertionError as error:
            lines = [line for line in str(error).splitlines() if "Mismatch" in line]
            return f"output {i} differs ({lines[0].strip() if lines else 'values'})"
    return None


def as_array(value: Any) -> Any:
    """A test value as numpy (TensorProto and numpy scalars converted); others unchanged."""
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, np.generic):
        return np.asarray(value)
    return value


def _named_inputs(case: Any, values: Sequence[Any]) -> dict[str, Any]:
    graph = case.model.graph
    initialized = {t.name for t in graph.initializer}
    names = [i.name for i in graph.input if i.name not in initialized]
    return dict(zip(names, [as_array(v) for v in values]))


def run_case(case: Any) -> Outcome:
    """Import and run one of ONNX's backend node cases and compare with its outputs."""
    try:
        for inputs, outputs in case.data_sets:
            named = _named_inputs(case, inputs)
            if any(not isinstance(v, np.ndarray) for v in named.values()):
                return Outcome(case.name, "UnsupportedInput", "a non-tensor input")
            got = GeBackend.run_model(case.model, named)
            problem = _compare([as_array(v) for v in outputs], got, case.rtol, case.atol)
            if problem:
                return Outcome(case.name, "mismatch", problem)
    except GeError as error:
        return Outcome(case.name, type(error).__name__, str(error).splitlines()[0])
    except Exception as error:  # a crash is an outcome too, so the table shows it
        return Outcome(case.name, "crash", f"{type(error).__name__}: {error}".splitlines()[0])
    return Outcome(case.name, "pass")


def run_case_on_npu(
    case: Any, fallbacks: Counter | None = None, warm_runs: int = 0
) -> str | None:
    """None if the case passes when compiled to the npu level and run on the npu interpreter,
    else what differs; `fallbacks` counts the kernels that ran by reference, by reason. With
    `warm_runs`, the compiled case runs that many more times (replays of the captured work:
    `runtime.npu_replay`), each of which must give the first run's outputs bit for bit."""
    import ge

    for inputs, outputs in case.data_sets:
        named = _named_inputs(case, inputs)
        rep = GeBackend.prepare_with_inputs(case.model, named)
        free = {k: v for k, v in named.items() if k not in rep.bound}
        compiled = ge.compile(rep.module, level="npu", cache=False)
        got = compiled.run(**free) if free else compiled.run()
        for kernel in compiled.last_profile["kernels"]:
            if kernel.get("estimated") and fallbacks is not None:
                reason = kernel.get("fallback_reason", "")
                fallbacks[reason.split(":")[0][:90]] += 1
        problem = _compare([as_array(v) for v in outputs], got, case.rtol, case.atol)
        if problem:
            return problem
        for run in range(warm_runs):
            again = compiled.run(**free) if free else compiled.run()
            for index, (first, later) in enumerate(zip(_listed(got), _listed(again))):
                if not np.array_equal(as_array(first), as_array(later), equal_nan=True):
                    return f"warm run {run + 1}: output {index} differs from the first run's"
    return None


def _listed(outputs: Any) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def collect_cases() -> list[Any]:
    """ONNX's backend node test cases, built in memory (about 15 s: each builds its data)."""
    import warnings

    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(collect_testcases())


def case_ops(cases: Sequence[Any]) -> dict[str, str]:
    """The op each case is about: its node's type; "<Op> (expanded)" for function bodies."""
    single = {c.name: c.model.graph.node[0].op_type for c in cases if len(c.model.graph.node) == 1}
    labels = {}
    for case in cases:
        base = case.name.split("_expanded")[0]
        if "_expanded" in case.name and base in single:
            labels[case.name] = f"{single[base]} (expanded)"
        else:
            labels[case.name] = single.get(case.name, "(graph) " + case.name)
    return labels


def summarize(cases: Sequence[Any], outcomes: Mapping[str, Outcome]) -> dict[str, dict[str, int]]:
    """Per op: cases in the suite, cases covered (every op converted), and how they ended."""
    labels = case_ops(cases)
    table: dict[str, dict[str, int]] = {}
    for case in cases:
        row = table.setdefault(labels[case.name], {"cases": 0, "covered": 0, "pass": 0})
        row["cases"] += 1
        outcome = outcomes.get(case.name)
        if outcome is not None:
            row["covered"] += 1
            row["pass"] += outcome.kind == "pass"
    return table


def run_covered(cases: Sequence[Any]) -> dict[str, Outcome]:
    """Run every case whose ops are all converted; name -> outcome."""
    return {case.name: run_case(case) for case in cases if covered(case)}


def reason_of(outcome: Outcome) -> str:
    """The part of an outcome's message that does not name the case or the node."""
    detail = outcome.detail
    if detail.startswith(outcome.name + ": "):
        detail = detail[len(outcome.name) + 2 :]
    if detail.startswith("node '") and "): " in detail:
        detail = detail.split("): ", 1)[1]
    return detail
