"""The modeled cost of an op that runs on the host (CANN's AI CPU) between compiled stages.

GE runs ops the AI Core has no kernel for (data-dependent shapes such as NonZero and
NonMaxSuppression, RoiAlign, ...) on the chip's AI CPU, ARM cores beside the AI Cores: each
such op is a task of its own on the stream, synchronised with the AI Core tasks around it, and
it streams its operands from HBM through a general-purpose core. The model charges both: a
fixed launch (task dispatch and the two stream synchronisations) and the op's bytes at one
core's streaming rate. Both figures are assumptions of this model (no public per-op AI CPU
timing exists), stated here so a report can be read against them.
"""

from __future__ import annotations

from runtime.targets import Target

LAUNCH_MICROSECONDS = 5.0
"""Dispatch of an AI CPU task and its synchronisation with the AI Core stream."""
BYTES_PER_CYCLE = 16.0
"""One ARM core streaming its operands and results (about 16 GB/s at 1 GHz)."""


def aicpu_cycles(target: Target, bytes_moved: int) -> int:
    """Modeled cycles (at the target's clock) of one host op moving `bytes_moved` bytes."""
    launch = LAUNCH_MICROSECONDS * 1e-6 * target.clock_mhz * 1e6
    return int(round(launch + bytes_moved / BYTES_PER_CYCLE))


def roofline_cycles(target: Target, bytes_moved: int) -> int:
    """The HBM lower bound of moving the op's bytes (the chip's whole bandwidth)."""
    return int(-(-bytes_moved // int(target.hbm_bandwidth)))
