"""ONNX's backend node cases with onnxruntime as the oracle instead of the stored outputs:
every covered case onnxruntime runs is run by ge (reference level) too, and each output that
differs beyond the case's tolerance is printed with which side equals the stored expected
output. Where ONNX's reference evaluator (which made the stored outputs) and onnxruntime
disagree, this says which one ge follows (docs/architecture.md, "When the oracles disagree").

    .venv/bin/python benchmarks/onnx_backend_vs_onnxruntime.py [--only SUBSTRING]   (~6 min)
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import onnxruntime as ort

from ge.frontends.onnx.backend import GeBackend, _named_inputs, as_array, collect_cases, covered


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    return bool(np.array_equal(a, b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    ort.set_default_logger_severity(4)
    compared = differ = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in collect_cases():
            if args.only not in case.name or not covered(case):
                continue
            inputs, outputs = case.data_sets[0]
            named = _named_inputs(case, inputs)
            if any(not isinstance(v, np.ndarray) for v in named.values()):
                continue
            try:
                session = ort.InferenceSession(
                    case.model.SerializeToString(), providers=["CPUExecutionProvider"]
                )
                want = session.run(None, named)
                got = GeBackend.run_model(case.model, named)
            except Exception:  # noqa: BLE001 (a case either side refuses is not compared)
                continue
            compared += 1
            rtol, atol = max(case.rtol, 1e-4), max(case.atol, 1e-5)
            for i, (g, w, e) in enumerate(zip(got, want, [as_array(o) for o in outputs])):
                g, w, e = np.asarray(g), np.asarray(w), np.asarray(e)
                if _close(g, w, rtol, atol):
                    continue
                differ += 1
                sides = [n for n, v in (("ge", g), ("onnxruntime", w)) if _close(v, e, 1e-3, 1e-4)]
                equal = " and ".join(sides) or "neither"
                print(f"{case.name} output {i}: differs; {equal} equal the stored output")
    print(f"{compared} cases compared, {differ} outputs differ beyond the cases' tolerance")


if __name__ == "__main__":
    main()
