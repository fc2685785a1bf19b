"""Autotuning (cuDNN's Find): run each conv algorithm on the modeled NPU, cache the cycles.

Every algorithm that accepts the kernel's geometry is lowered alone (`algorithm` forced) for
the real shape and dtype, with random constant weights so that weight transforms happen at
compile time as they do for a real model, and executed by the npu interpreter; its figure is
the modeled cycles of the kernels it lowered to. An algorithm that the npu dialect cannot run
for this geometry (no lowering, or the lowering refuses the shape) gets the analytic estimate
of `runtime.conv_cost` instead and is listed as estimated; measured and estimated figures are
not compared (the analytic model is not calibrated to the lowerings' every detail), so the
candidates for selection are the measured ones, or the estimates where none could run. The bare
convolution is measured: the epilogue costs every algorithm the same.

The results are cached on disk in one JSON file keyed by (target, level, op, geometry, dtype)
and reused by later compiles. The file is plain JSON, rewritten atomically (a temporary file
renamed over it), and a damaged file is ignored and rebuilt.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Region

from gedialects.errors import GeError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.conv_algorithms import ALGORITHMS, ConvGeometry
from gedialects.kernel.ops import Conv2DKernelOp
from runtime.compile_cache import default_cache_dir
from runtime.conv_cost import candidate_costs
from runtime.targets import Target

GEOMETRY_PROPS = ("strides", "pads", "dilations", "groups")
PRUNE = 4.0
"""Candidates whose analytic estimate exceeds PRUNE x the best one are not run (as cuDNN's and
TVM's tuners prune the space): interpreting, say, a direct convolution of 256 channels on the
vector unit costs minutes of host time to confirm what the estimate already says."""


def _key(target: Target, geometry: ConvGeometry, dtype: np.dtype) -> str:
    return f"{target.name}|npu|kernel.conv2d|{geometry}|{np.dtype(dtype).name}"


def conv_program(op: Conv2DKernelOp, algorithm: str, weights: np.ndarray) -> ModuleOp:
    """`main(x) = conv(x, weights)` by `algorithm`, with `op`'s geometry and no epilogue."""
    block = Block(arg_types=[op.input.type])
    weight = ConstantOp(weights)
    props = {name: op.properties[name] for name in GEOMETRY_PROPS}
    conv = Conv2DKernelOp(
        block.args[0],
        weight.output,
        None,
        algorithm=StringAttr(algorithm),
        fused_from=["ge.conv2d"],
        **props,
    )
    block.add_ops([weight, conv, func.ReturnOp(conv.output)])
    fn = func.FuncOp("main", ([op.input.type], [conv.output.type]), Region(block))
    return ModuleOp([fn])


def modeled_cycles(module: ModuleOp, x: np.ndarray, target: Target) -> float:
    """Modeled cycles of `module`'s kernels on the npu interpreter; GeError if not lowerable."""
    from lowering.convert_kernel_to_npu import lower_module
    from runtime.npu_interpreter import NpuExecutable

    result = NpuExecutable(lower_module(module, target), target).run([x])
    return float(sum(kernel.cycles for kernel in result.profile.kernels))


class Autotuner:
    """Measures conv candidates on the modeled NPU and keeps the results in a JSON file."""

    def __init__(self, target: Target, path: str | Path | None = None, prune: float = PRUNE):
        self.target = target
        self.prune = prune
        self.path = Path(path) if path else default_cache_dir() / "autotune.json"
        self.results = self._load()
        self.measured_now = 0

    def _load(self) -> dict[str, dict]:
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

    def entry(self, geometry: ConvGeometry, dtype: np.dtype) -> dict | None:
        """The cache entry of a geometry: {"cycles": {...}, "estimated": {algorithm: why}}."""
        return self.results.get(_key(self.target, geometry, dtype))

    def measure_conv(self, geometry: ConvGeometry, op: Conv2DKernelOp) -> dict[str, float]:
        """Modeled cycles per accepted algorithm, from the cache or measured now."""
        dtype = np.dtype(to_numpy_dtype(element_of(op.input.type)))
        key = _key(self.target, geometry, dtype)
        entry = self.results.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("cycles"), dict):
            return _candidates(entry)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((geometry.n, geometry.c, geometry.h, geometry.w)).astype(dtype)
        w = rng.standard_normal(
            (geometry.o, geometry.c // geometry.groups, geometry.kh, geometry.kw)
        ).astype(dtype)
        estimates = {c.algorithm: c.cycles for c in candidate_costs(geometry, self.target, dtype)}
        cycles: dict[str, float] = {}
        estimated: dict[str, str] = {}
        for name, algo in ALGORITHMS.items():
            if algo.unsupported_reason(geometry) is not None:
                continue
            if estimates[name] > self.prune * min(estimates.values()):
                cycles[name] = round(estimates[name], 1)
                estimated[name] = f"pruned: estimated above {self.prune:g}x the best estimate"
                continue
            try:
                cycles[name] = modeled_cycles(conv_program(op, name, w), x, self.target)
            except GeError as error:
                cycles[name] = round(estimates[name], 1)
                estimated[name] = str(error)
        self.results[key] = {"cycles": cycles, "estimated": estimated}
        self.measured_now += 1
        self._save()
        return _candidates(self.results[key])


def _candidates(entry: dict) -> dict[str, float]:
    """The measured figures of a cache entry, or all of them where none was measured."""
    cycles, estimated = entry["cycles"], entry.get("estimated", {})
    measured = {name: c for name, c in cycles.items() if name not in estimated}
    return measured or cycles
