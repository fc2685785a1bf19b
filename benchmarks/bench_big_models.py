"""Full-size zoo models through `ge-run` (npu level): CPU time, wall, peak RSS, correctness.

Each model (`benchmarks/big_models.py`, seeded random weights) is exported with the
TorchScript exporter to a temporary folder, then `ge-run MODEL --inputs IN.npz --output
OUT.npz --report R.json` runs in a subprocess under `/usr/bin/time -v` with an empty compile
cache (`GE_CACHE_DIR` in the temp folder: a zoo check's first, cold run, cache write
included). onnxruntime runs the same file and inputs in this process as the peer: the
table shows both and ge/ort ratios, and the largest output error relative to the largest
|reference| value (f32; the check is `allclose(rtol=1e-4, atol=1e-4 * max|ref|)`: sums of
thousands of products in a different order differ by ~1e-6 relative to their scale, far
inside it, while a wrong tile is off by O(1)).

    .venv/bin/python benchmarks/bench_big_models.py [--models vgg16,gpt2|all] [--no-cache]
        [--external-data] [--keep DIR]

`--external-data` saves every model's weights in a file beside it (ONNX external data, as
the exporter does above 2 GB), so the run reads them from there.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ("alexnet", "mobilenet_v2", "resnet50")
"""The fast subset (a few minutes on a shared 2-core machine); `--models all` for the rest."""


def export(name: str, folder: Path, external: bool) -> tuple[Path, dict[str, np.ndarray]]:
    """Export `name` to `folder/name.onnx`; its inputs as numpy arrays by name."""
    import warnings

    import big_models
    import onnx
    import torch

    model, example, names = big_models.build(name)
    path = folder / f"{name}.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, example, str(path), dynamo=False, opset_version=17, input_names=names
        )
    if external:
        proto = onnx.load(str(path))
        onnx.save(proto, str(path), save_as_external_data=True, location=f"{name}.weights")
    return path, {n: t.numpy() for n, t in zip(names, example)}


def _time_v(stderr: str) -> dict[str, float]:
    """CPU seconds, wall seconds and max RSS (GB) from `/usr/bin/time -v`'s lines."""
    fields = {}
    for key, pattern in (
        ("user", r"User time \(seconds\): ([\d.]+)"),
        ("sys", r"System time \(seconds\): ([\d.]+)"),
        ("rss_kb", r"Maximum resident set size \(kbytes\): (\d+)"),
        ("wall", r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)"),
    ):
        m = re.search(pattern, stderr)
        fields[key] = m.group(1) if m else "0"
    wall = 0.0
    for part in fields["wall"].split(":"):
        wall = wall * 60 + float(part)
    cpu = float(fields["user"]) + float(fields["sys"])
    return {"cpu": cpu, "wall": wall, "rss": int(fields["rss_kb"]) / 2**20}


def run_ge(path: Path, inputs: Path, folder: Path, no_cache: bool) -> dict:
    out, report = folder / "out.npz", folder / "R.json"
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "ge.cli.run", str(path)]
    command += ["--inputs", str(inputs), "--output", str(out), "--report", str(report)]
    command += ["--no-cache"] if no_cache else []
    shutil.rmtree(folder / "cache", ignore_errors=True)  # cold, also in a --keep folder
    env = {**os.environ, "GE_CACHE_DIR": str(folder / "cache"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    figures = _time_v(done.stderr)
    figures["error"] = "" if done.returncode == 0 else _ge_error(done.stderr)
    if done.returncode == 0:
        import json

        with np.load(out) as npz:
            figures["outputs"] = [npz[k] for k in npz.files]
        r = json.loads(report.read_text())
        figures["compile_s"], figures["run_s"] = r.get("compile_seconds"), r.get("run_seconds")
        figures["fallbacks"] = len(r.get("fallbacks", []))
        figures["makespan"] = r.get("makespan_cycles")
    return figures


def _ge_error(stderr: str) -> str:
    lines = [x for x in stderr.splitlines() if x.startswith("ge-run:") or "Error" in x]
    return (lines[-1] if lines else stderr.strip().splitlines()[0])[:160]


def run_ort(path: Path, inputs: dict[str, np.ndarray]) -> dict:
    import onnxruntime as ort

    cpu, wall = time.process_time(), time.perf_counter()
    options = ort.SessionOptions()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    outputs = session.run(None, inputs)
    return {
        "cpu": time.process_time() - cpu,
        "wall": time.perf_counter() - wall,
        "outputs": outputs,
    }


def compare(got: list[np.ndarray], want: list[np.ndarray]) -> tuple[float, bool]:
    """The largest |got - want| relative to max |want| over all outputs; allclose verdict."""
    worst, ok = 0.0, len(got) == len(want)
    for g, w in zip(got, want):
        scale = float(np.max(np.abs(w))) or 1.0
        if g.shape != w.shape:
            return float("inf"), False
        worst = max(worst, float(np.max(np.abs(g.astype(np.float64) - w))) / scale)
        ok = ok and bool(np.allclose(g, w, rtol=1e-4, atol=1e-4 * scale))
    return worst, ok


def main() -> None:
    import big_models

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(DEFAULT), help="comma list, or 'all'")
    p.add_argument("--no-cache", action="store_true", help="pass --no-cache to ge-run")
    p.add_argument("--external-data", action="store_true", help="weights beside the model")
    p.add_argument("--keep", metavar="DIR", help="export into DIR and keep the files")
    args = p.parse_args()
    names = big_models.NAMES if args.models == "all" else args.models.split(",")
    header = (
        f"{'model':16} {'MB':>5} {'ge CPU s':>8} {'wall s':>7} {'RSS GB':>6} {'compile':>7} "
        f"{'run':>6} {'ort CPU':>7} {'CPU x':>6} {'rel err':>8} ok  fb"
    )
    print(header)
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"big-{name}-") as tmp:
            folder = Path(args.keep) / name if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            path, inputs = export(name, folder, args.external_data)
            np.savez(folder / "in.npz", **inputs)
            size = sum(f.stat().st_size for f in folder.glob(f"{name}.*")) / 2**20
            ge = run_ge(path, folder / "in.npz", folder, args.no_cache)
            peer = run_ort(path, inputs)
            if ge["error"]:
                print(f"{name:16} {size:5.0f} {ge['cpu']:8.1f} {ge['wall']:7.1f} "
                      f"{ge['rss']:6.2f} FAILED: {ge['error']}")  # fmt: skip
                continue
            err, ok = compare(ge["outputs"], peer["outputs"])
            print(
                f"{name:16} {size:5.0f} {ge['cpu']:8.1f} {ge['wall']:7.1f} {ge['rss']:6.2f} "
                f"{ge['compile_s']:7.1f} {ge['run_s']:6.1f} {peer['cpu']:7.2f} "
                f"{ge['cpu'] / max(peer['cpu'], 1e-3):6.0f} {err:8.1e} {'yes' if ok else 'NO ':3} "
                f"{ge['fallbacks']:3}",
                flush=True,
            )


if __name__ == "__main__":
    main()
