"""What each npu instruction costs on a target, in cycles of the pipe that runs it.

- DMA: bytes / the path's rate (bytes per cycle per core). On the off-chip side (HBM, L2) a
  window moves in contiguous runs, each rounded up to whole bursts of `dma_burst` bytes, so a
  narrow strided window costs more than its bytes. HBM is shared: when `cores` cores of a kernel
  run at once, one core moves at most `hbm_bandwidth / cores` bytes per cycle, reads and writes
  together (`runtime.npu_core.Core.hbm_cycles`). L2 caches HBM within a kernel: the cores
  that read an element share its one HBM fetch, later reads come from L2 at the L2 rate
  without using HBM bandwidth (`runtime.npu_core.Core.l2_cached`; inputs larger than half of
  L2 are never cached). A transfer whose bytes come partly from L2 and partly from HBM takes
  the longer of its two parts (all its bytes at the L2 rate, its misses at the core's HBM
  share): the misses stream into L2 while the hits flow on, as a DMA engine pipelines its
  requests; charging their sum held every L2-heavy matmul below ~0.7 of its roofline.
- Cube: one cycle per 16x16x16 fractal of the (m, n, k) product (fp16 or i8), or
  `cube_f32_cycles_per_fractal` cycles in the f32 mode.
- Vector: the bytes of the largest operand / the vector unit's bytes per cycle (128 fp16 lanes),
  at least one cycle; `npu.vec_window` charges whole 32-byte blocks along a strided last axis.
- Scalar (index arithmetic, loop control): one cycle on the S pipe.
- Roofline of a kernel: max(cube flops / chip cube peak, vector bytes / chip vector peak,
  compulsory HBM bytes / HBM bandwidth).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from runtime.targets import Target

OFF_CHIP = ("hbm", "l2")


def contiguous_runs(window: Sequence[int], dims: Sequence[int]) -> tuple[int, int]:
    """(number of runs, elements per run) that a window of a row-major buffer splits into."""
    run = 1
    axis = len(dims) - 1
    while axis >= 0:
        run *= window[axis]
        if window[axis] != dims[axis]:
            break
        axis -= 1
    return math.prod(window[:axis]) if axis > 0 else 1, run


def dma_bytes_charged(
    target: Target, window: Sequence[int], dims: Sequence[int], itemsize: int
) -> int:
    """Bytes the off-chip side of a DMA really moves: whole bursts per contiguous run."""
    return _charged(tuple(window), tuple(dims), itemsize, target.dma_burst)


@functools.lru_cache(maxsize=4096)
def _charged(window: tuple, dims: tuple, itemsize: int, burst: int) -> int:
    runs, run = contiguous_runs(window, dims)
    return runs * (-(-run * itemsize // burst) * burst)


def dma_rate(target: Target, src: str, dst: str) -> float:
    """The path's own rate (HBM sharing is applied by the core's HBM channel)."""
    rate = target.rate(src, dst)
    assert rate is not None, (src, dst)
    if dst == "l2":
        rate = min(rate, target.l2_write_rate)
    return rate


def hbm_share(target: Target, cores: int) -> float:
    """Bytes per cycle of HBM one of `cores` busy cores can count on."""
    return target.hbm_bandwidth / max(cores, 1)


def mmad_cycles(target: Target, m: int, n: int, k: int, dtype: np.dtype) -> int:
    fractals = -(-m // target.cube_m) * -(-n // target.cube_n) * -(-k // target.cube_k)
    per = target.cube_f32_cycles_per_fractal if dtype == np.float32 else 1
    return fractals * per


def vector_cycles(target: Target, nbytes: int) -> int:
    return max(1, -(-nbytes // target.vector_bytes_per_cycle))


def roofline_terms(
    target: Target,
    cube_flops: float,
    vector_bytes: float,
    hbm_bytes: float,
    vector_only: bool,
    cube_f32_flops: float = 0.0,
) -> dict[str, float]:
    """The lower bounds on a kernel's cycles on the whole chip, by name: the cube's peak
    ("cube"), the vector units' ("vector") and HBM bandwidth ("hbm"); the roofline is the
    largest. The cube's bound is its peak in the mode the kernel's mmads run: `cube_f32_flops`
    of the `cube_flops` run in the f32 mode, at 1 / `cube_f32_cycles_per_fractal` of the
    fp16 peak (an f32 GEMM cannot run faster on this cube; counting it at the fp16 peak
    would make every compute-bound f32 kernel look half as fast as it can be)."""
    cores = target.vector_cores if vector_only else target.ai_cores
    slower = (target.cube_f32_cycles_per_fractal - 1) * cube_f32_flops
    return {
        "cube": (cube_flops + slower) / target.peak_flops_per_cycle,
        "vector": vector_bytes / (cores * target.vector_bytes_per_cycle),
        "hbm": hbm_bytes / target.hbm_bandwidth,
    }
