"""verify-npu: check an npu module against a target (capacities, transfer paths, alignment).

Pre: a module with `npu` kernels. Post: unchanged; raises if a kernel keeps more bytes live in a
space than the target has, moves data on a path the target lacks, or misaligns HBM buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from gedialects.npu.verify import verify_npu_module


@dataclass(frozen=True)
class VerifyNpu(ModulePass):
    """Check npu kernels against a target's capacities and data paths."""

    name = "verify-npu"

    target: str = "ascend910a"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from runtime.targets import load_target  # targets are data; no runtime code runs

        verify_npu_module(op, load_target(self.target))
