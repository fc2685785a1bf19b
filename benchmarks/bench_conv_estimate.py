"""How well the im2col conv tile search's estimate picks tiles, over a model's convs.

For every distinct im2col conv kernel of a model (ResNet-50 by default; the names of
`benchmarks/big_models.py`, e.g. `inception_v3`, export that full-size zoo model with torch),
the search's best N candidates (`conv_tiling.ranked_conv_tiles`: the search's choice first,
then by estimate) are lowered and run on the interpreter, on random arguments (a tiled
conv's cycles do not depend on the values), as op tuning does (`runtime.tile_tuner`). Per
kernel it prints the chosen tile's estimate and cycles, the fastest candidate's cycles and
the regret (chosen / fastest); then over all kernels: the summed cycles of the chosen and of
the fastest candidates, on how many kernels the estimate's choice is the fastest, and the
median and 90th percentile of |estimate / cycles - 1| over every candidate run.

`--chunks` also runs each conv's chosen tile with each UB staging chunk tuning tries
(`conv_tiling.ranked_chunk_rows`) and prints their cycles.

`--save FILE.json` writes each candidate's estimate and cycles; after a change to the
estimate, `--against FILE.json` takes the cycles of candidates measured there (a candidate is
its lowering's fields: the estimate aside) and runs only new ones, so two estimates are
compared on the same measurements.

    .venv/bin/python benchmarks/bench_conv_estimate.py [--models resnet50,inception_v3]
        [--top 8] [--chunks] [--save runs.json] [--against runs.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

LOWERING_FIELDS = ("tm", "tn", "tk", "rows", "order", "per", "part", "fold", "split", "parts")
"""What a candidate lowers to (its estimate and block count follow from them)."""


def _module(name: str):  # noqa: ANN202
    """The model at the kernel level, as the npu level lowers it."""
    import bench_npu_models

    models = bench_npu_models._models()
    if name in models:
        return bench_npu_models._prepare(models[name]())
    from bench_big_models import export

    from ge.api import load_program

    with tempfile.TemporaryDirectory() as folder:
        path, _ = export(name, Path(folder), external=False)
        module = load_program(str(path))
    return bench_npu_models._prepare(module)


def _key(shape: tuple, candidate) -> str:  # noqa: ANN001
    fields = tuple(getattr(candidate, f) for f in LOWERING_FIELDS)
    return json.dumps([shape, fields])


def measure(name: str, top: int, known: dict[str, float], chunks: bool = False) -> list[dict]:
    """Per distinct conv kernel of model `name`: its candidates' estimates and cycles."""
    from lowering import tile_tuning
    from lowering.tile_tuning import Decisions
    from runtime.kernel_runner import KernelRunner
    from runtime.tile_tuner import distinct_kernels, kernel_cycles, random_arguments

    runner = KernelRunner(_module(name))
    rng = np.random.default_rng(0)
    kernels = []
    for op in distinct_kernels(runner):
        table = Decisions()
        with tile_tuning.record(table) as seen:
            try:
                runner.lower(op)
            except Exception:  # noqa: BLE001 (the runner fell back: nothing to tile)
                continue
        sites = [site for site in seen if site[0] == "conv"]
        if not sites:
            continue
        site, args = sites[0], random_arguments(runner, op, rng)

        def cycles(site: tuple, decision) -> float:  # noqa: ANN001
            table.chosen[site] = decision
            with tile_tuning.use(table):
                lowered = runner.lower(op)
            del table.chosen[site]
            return kernel_cycles(runner, op, args, lowered)

        shape, rows = site[3], []
        for candidate in table.candidates[site](top):
            key = _key(shape, candidate)
            if key not in known:
                known[key] = cycles(site, candidate)
            rows.append({"key": key, "estimate": candidate.estimate, "cycles": known[key]})
        kernels.append({"model": name, "kernel": runner.names[op], "candidates": rows})
        chosen, fastest = rows[0]["cycles"], min(r["cycles"] for r in rows)
        print(f"{name:<14}{runner.names[op]:<13}{rows[0]['estimate']:>10.0f}{chosen:>10.0f}"
              f"{fastest:>10.0f}{chosen / fastest:>8.3f}", flush=True)  # fmt: skip
        chunk_site = next((s for s in seen if s[0] == "conv_rows"), None)
        if chunks and chunk_site is not None:
            runs = [(r, cycles(chunk_site, r)) for r in table.candidates[chunk_site](8)]
            print("    chunks (rows: cycles): " + ", ".join(f"{r}: {c:.0f}" for r, c in runs))
    return kernels


def summary(kernels: list[dict]) -> None:
    chosen = sum(k["candidates"][0]["cycles"] for k in kernels)
    fastest = sum(min(r["cycles"] for r in k["candidates"]) for k in kernels)
    best = sum(
        k["candidates"][0]["cycles"] == min(r["cycles"] for r in k["candidates"]) for k in kernels
    )
    errors = sorted(
        abs(r["estimate"] / r["cycles"] - 1) for k in kernels for r in k["candidates"]
    )
    p90 = errors[int(0.9 * (len(errors) - 1))]
    print(f"\n{len(kernels)} conv kernels: the estimate's choices {chosen:,.0f} cycles, the "
          f"fastest of each one's candidates {fastest:,.0f} (regret {chosen / fastest:.3f}); "
          f"the choice is the fastest on {best}; |estimate / cycles - 1| over "
          f"{len(errors)} runs: median {statistics.median(errors):.3f}, 90th percentile "
          f"{p90:.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet50")
    parser.add_argument("--top", type=int, default=8, help="candidates run per conv")
    parser.add_argument("--chunks", action="store_true", help="also each chunk of the choice")
    parser.add_argument("--save", type=Path, help="write every run's estimate and cycles")
    parser.add_argument("--against", type=Path, help="reuse the cycles of a saved file")
    args = parser.parse_args()
    known: dict[str, float] = {}
    if args.against:
        for kernel in json.loads(args.against.read_text())["kernels"]:
            known.update({r["key"]: r["cycles"] for r in kernel["candidates"]})
    print(f"{'model':<14}{'kernel':<13}{'estimate':>10}{'cycles':>10}{'fastest':>10}"
          f"{'regret':>8}")  # fmt: skip
    kernels = [
        k for name in args.models.split(",") for k in measure(name, args.top, known, args.chunks)
    ]
    summary(kernels)
    if args.save:
        args.save.write_text(json.dumps({"top": args.top, "kernels": kernels}, indent=1))


if __name__ == "__main__":
    main()
