"""Shape gears on the zoo's kinds of models: which compile with gears, and do padded batches
equal onnxruntime.

Each torch model of `tests/frontends/zoo_text_models.py` and `zoo_vision_models.py` is
exported with a free batch axis (TorchScript exporter, opset 17 for text, the zoo's opset for
vision), compiled with `ge.compile(model, dynamic_batch=[1, 4])` and run at batches 1, 3
(padded to gear 4) and 5 (beyond every gear: eager); the table gives, per model, "ok" and the
largest difference from onnxruntime relative to 1 + |reference|, or why gears were refused.

    .venv/bin/python benchmarks/bench_gears.py [--only bert,vit]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "tests" / "frontends"))  # after the project: tests/gedialects
sys.path.append(str(ROOT / "tests"))  # would shadow the package

import test_zoo_text_models as text  # noqa: E402
import test_zoo_vision_models as vision  # noqa: E402

import ge  # noqa: E402
from gedialects.errors import GeError  # noqa: E402

BATCHES = (1, 3, 5)
GEARS = [1, 4]


def _repeat(array: np.ndarray, batch: int) -> np.ndarray:
    return np.resize(array, (batch, *array.shape[1:]))


def _trial(path: Path, examples: dict[str, np.ndarray]) -> str:
    start = time.perf_counter()
    try:
        compiled = ge.compile(onnx.load(path), dynamic_batch=GEARS, cache=False)
    except GeError as refusal:
        return f"refused: {str(refusal)[:110]}"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch in BATCHES:
        feeds = {name: _repeat(a, batch) for name, a in examples.items()}
        try:
            got = compiled(**feeds)
        except Exception as error:  # noqa: BLE001 (a table row: an internal error is a finding)
            return f"FAILED at batch {batch}: {type(error).__name__}: {str(error)[:90]}"
        try:
            wanted = session.run(None, feeds)
        except Exception:  # noqa: BLE001
            return f"ran at batch {batch} where onnxruntime refuses it"
        got = got if isinstance(got, list | tuple) else [got]
        for value, want in zip(got, wanted, strict=True):
            if value.shape != want.shape:
                return f"shape {value.shape} where onnxruntime gives {want.shape}"
            scale = 1.0 + np.abs(want.astype(np.float64))
            worst = max(worst, float(np.max(np.abs(value - want) / scale, initial=0.0)))
    return f"ok  err {worst:.1e}  {time.perf_counter() - start:5.1f} s"


def _text_models(folder: Path, only: set[str]):
    import torch

    for case, (make, make_inputs, _) in text.CASES.items():
        if only and case not in only:
            continue
        torch.manual_seed(0)
        inputs = make_inputs(torch.Generator().manual_seed(0))
        path = folder / f"{case}.onnx"
        names = text.export(make().eval(), inputs, path, 17, ("batch",))
        yield case, path, {n: t.numpy() for n, t in zip(names, inputs)}


def _vision_models(folder: Path, only: set[str]):
    for name, (_, _, opset, _) in vision.TORCH_CASES.items():
        if only and name not in only:
            continue
        model, x = vision.torch_model(name)
        path = vision.export(model, x, folder / f"{name}.onnx", opset, dynamic=True)
        yield name, path, {"x": x.numpy()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated model names")
    only = {n for n in parser.parse_args().only.split(",") if n}
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for group, models in (("text", _text_models), ("vision", _vision_models)):
            for name, path, examples in models(folder, only):
                print(f"{group:7s}{name:24s}{_trial(path, examples)}", flush=True)


if __name__ == "__main__":
    main()
