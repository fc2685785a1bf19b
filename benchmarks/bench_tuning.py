"""Op tuning on the zoo models: modeled makespan with the estimate's tiles and tuned.

Each zoo model (`ge.testing.models`, small by default) is exported to ONNX and compiled at
the npu level twice, `ge.compile(..., tune=0)` and `tune=N` (each tile search's best N
candidates run on the interpreter, the fastest kept: `runtime.tile_tuner`); both run once.
Prints the searches tuned and changed, the tuning's seconds, both makespans and their
ratio, and the tuned outputs' largest error against onnxruntime on the same file (relative
to the output's largest magnitude).

    .venv/bin/python benchmarks/bench_tuning.py [--models resnet18,mobilenet_v2] [--tune 4]
        [--full]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np


def main() -> None:
    import onnxruntime as ort

    import ge
    from ge.testing.models import MODELS, build, export_onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--tune", type=int, default=4, metavar="N")
    parser.add_argument("--full", action="store_true", help="the zoo's full sizes")
    args = parser.parse_args()
    print(f"{'model':<14}{'searches':>9}{'changed':>9}{'tuning s':>10}{'makespan':>12}"
          f"{'tuned':>10}{'ratio':>8}{'err vs ort':>12}")  # fmt: skip
    for name in args.models.split(","):
        model, example = build(name, small=not args.full)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proto = export_onnx(model, example, input_names=MODELS[name].input_names)
        inputs = [t.numpy() for t in example]
        cpu = ["CPUExecutionProvider"]
        session = ort.InferenceSession(proto.SerializeToString(), providers=cpu)
        expected = session.run(None, dict(zip([i.name for i in session.get_inputs()], inputs)))
        plain = ge.compile(proto, level="npu", cache=False)
        plain.run(*inputs)
        tuned = ge.compile(proto, level="npu", cache=False, tune=args.tune)
        got = tuned.run(*inputs)
        report = tuned.plan().stats["npu_program"].tuning
        before = plain.last_profile["makespan_cycles"]
        after = tuned.last_profile["makespan_cycles"]
        error = max(
            float(np.abs(g - e).max() / max(float(np.abs(e).max()), 1e-30))
            for g, e in zip(got, expected, strict=True)
        )
        searches, changed = len(report.sites), len(report.improved)
        print(f"{name:<14}{searches:>9}{changed:>9}{report.seconds:>10.1f}{before:>12,.0f}"
              f"{after:>10,.0f}{after / before:>8.3f}{error:>12.1e}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
