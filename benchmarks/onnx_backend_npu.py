"""ONNX's backend node cases at the npu level: each case that passes at the reference level is
compiled with `level="npu"` and run on the npu interpreter, and compared with ONNX's expected
outputs. Prints the cases that differ or fail, and how many kernels ran on the npu or fell back
(and why, grouped). With GE_NPU_STRICT=1 a lowering bug shows as a failure, not a fallback.
With `--warm N` each case also runs N more times, replaying its captured work (merged waves,
equal rows done once, dead poison dropped), and must give its first run's outputs bit for bit.

    GE_NPU_STRICT=1 .venv/bin/python benchmarks/onnx_backend_npu.py [--only SUBSTRING] [--warm 3]
"""

from __future__ import annotations

import argparse
import collections
import time
import warnings

from ge.frontends.onnx.backend import collect_cases, covered, run_case, run_case_on_npu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="")
    parser.add_argument("--warm", type=int, default=0, help="replays that must match run 1")
    args = parser.parse_args()
    cases = [c for c in collect_cases() if covered(c) and args.only in c.name]
    passing = [c for c in cases if run_case(c).kind == "pass"]
    fallbacks: collections.Counter = collections.Counter()
    failed: dict[str, str] = {}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in passing:
            try:
                problem = run_case_on_npu(case, fallbacks, args.warm)
            except Exception as error:  # noqa: BLE001 (the table shows every failure)
                problem = f"{type(error).__name__}: {error}".splitlines()[0][:200]
            if problem:
                failed[case.name] = problem
    for name, problem in sorted(failed.items()):
        print(f"FAIL {name}: {problem}")
    print(f"\n{len(passing) - len(failed)} of {len(passing)} reference-passing cases pass at the "
          f"npu level ({time.perf_counter() - start:.0f} s)")  # fmt: skip
    print("kernels run by reference, by reason:")
    for reason, count in fallbacks.most_common():
        print(f"  {count:5d}  {reason}")


if __name__ == "__main__":
    main()
