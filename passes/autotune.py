"""Autotuning (cuDNN's Find): measure each conv algorithm on the real shape, cache the result.

Candidates are timed by running them for the kernel's real geometry and dtype; the
measurements are cached on disk in one JSON file keyed by (target, op, geometry, dtype) and
reused by later compiles. The file is plain JSON, rewritten atomically (a temporary file
renamed over it), and a damaged file is ignored and rebuilt.

What is measured: the algorithm's implementation in `gedialects.kernel.conv_algorithms`,
executed on this host (median of a few runs, in microseconds). The convolutions are not
lowered to the npu dialect yet, so the npu interpreter cannot run them; when they are, the
measurement moves to the interpreter's modeled cycles and the cache key gains the level.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.conv_algorithms import ALGORITHMS, ConvGeometry
from gedialects.kernel.ops import Conv2DKernelOp
from runtime.compile_cache import default_cache_dir
from runtime.targets import Target

REPEATS = 3


def _key(target: Target, geometry: ConvGeometry, dtype: np.dtype) -> str:
    return f"{target.name}|kernel.conv2d|{geometry}|{np.dtype(dtype).name}"


class Autotuner:
    """Measures conv candidates and keeps the results in a JSON file."""

    def __init__(self, target: Target, path: str | Path | None = None):
        self.target = target
        self.path = Path(path) if path else default_cache_dir() / "autotune.json"
        self.results = self._load()
        self.measured_now = 0

    def _load(self) -> dict[str, dict[str, float]]:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".autotune-", dir=self.path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(self.results, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def measure_conv(self, geometry: ConvGeometry, op: Conv2DKernelOp) -> dict[str, float]:
        """Microseconds per accepted algorithm, from the cache or measured now."""
        dtype = np.dtype(to_numpy_dtype(element_of(op.input.type)))
        key = _key(self.target, geometry, dtype)
        if key in self.results:
            return self.results[key]
        rng = np.random.default_rng(0)
        x = rng.standard_normal((geometry.n, geometry.c, geometry.h, geometry.w)).astype(dtype)
        w = rng.standard_normal(
            (geometry.o, geometry.c // geometry.groups, geometry.kh, geometry.kw)
        ).astype(dtype)
        timings = {}
        for name, algo in ALGORITHMS.items():
            if algo.unsupported_reason(geometry) is not None:
                continue
            runs = []
            for _ in range(REPEATS):
                start = time.perf_counter()
                algo.run(x, w, geometry)
                runs.append(time.perf_counter() - start)
            timings[name] = round(statistics.median(runs) * 1e6, 1)
        self.results[key] = timings
        self.measured_now += 1
        self._save()
        return timings
