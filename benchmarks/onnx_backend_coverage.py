"""Per-op pass counts of ONNX's backend node test cases through the ONNX importer.

Runs every case of `onnx.backend.test.case.node.collect_testcases()` whose ops the
importer converts, on the reference interpreter, and prints one row per op: cases in
the suite, cases covered, cases passed. `--write-expected FILE` (re)writes the failures in
the format of `tests/frontends/onnx_backend_expected_failures.txt`, to review by hand.

    .venv/bin/python benchmarks/onnx_backend_coverage.py [--only-covered]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ge.frontends.onnx.backend import collect_cases, reason_of, run_covered, summarize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only-covered", action="store_true", help="hide ops with no covered case")
    parser.add_argument("--write-expected", metavar="FILE", help="write the failures to FILE")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    cases = collect_cases()
    collected = time.perf_counter()
    outcomes = run_covered(cases)
    ran = time.perf_counter()
    table = summarize(cases, outcomes)
    print(f"{'op':42s} {'cases':>6s} {'covered':>8s} {'pass':>6s}")
    for op, row in sorted(table.items()):
        if args.only_covered and not row["covered"]:
            continue
        print(f"{op:42s} {row['cases']:6d} {row['covered']:8d} {row['pass']:6d}")
    passed = sum(o.kind == "pass" for o in outcomes.values())
    covered_ops = sum(1 for row in table.values() if row["covered"])
    print(
        f"\n{len(cases)} cases over {len(table)} ops; {len(outcomes)} covered "
        f"({covered_ops} ops); {passed} pass, {len(outcomes) - passed} fail"
    )
    print(f"collect {collected - start:.1f} s, run {ran - collected:.1f} s")
    if args.write_expected:
        write_expected(Path(args.write_expected), outcomes)
    return 0


def write_expected(path: Path, outcomes: dict) -> None:
    """The failures as an expected-failures file; an existing file's header and the
    hand-written reasons of its non-error outcomes (mismatches) are kept."""
    header, kept = [], {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("#") or not line.strip():
                header.append(line)
            else:
                name, kind, reason = line.split(maxsplit=2)
                if not kind.endswith("Error"):
                    kept[name, kind] = reason
    failed = [(n, o) for n, o in outcomes.items() if o.kind != "pass"]
    width = max((len(n) for n, _ in failed), default=0)
    lines = [
        f"{n:{width}s}  {o.kind:16s}  {kept.get((n, o.kind), reason_of(o))}" for n, o in failed
    ]
    path.write_text("\n".join([*header, *lines]) + "\n")


if __name__ == "__main__":
    sys.exit(main())
