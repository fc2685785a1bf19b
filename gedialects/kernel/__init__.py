"""The `kernel` dialect: fused kernels on tensors (the mid IR).

Each kernel records `fused_from`, the `ge` ops it replaces, and an optional `algorithm`
that implementation selection sets. Reference semantics: `gedialects.kernel.semantics`.
"""

from xdsl.ir import Dialect

from gedialects.kernel import mirrored, ops, reductions
from gedialects.kernel.base import ACTIVATIONS, KernelOp, MirrorKernelOp
from gedialects.kernel.elementwise import ElementwiseOp, YieldOp, is_elementwise
from gedialects.kernel.mirrored import MIRRORED
from gedialects.kernel.ops import AttentionKernelOp, Conv2DKernelOp, MatMulKernelOp, SoftmaxKernelOp
from gedialects.kernel.reductions import PoolKernelOp, ReduceKernelOp

ALL_OPS: list[type] = [
    *dict.fromkeys(  # ops re-exports the reductions; each op once
        cls
        for module in (ops, reductions, mirrored)
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, KernelOp) and "name" in cls.__dict__
    ),
    ElementwiseOp,
    YieldOp,
]

KERNEL = Dialect("kernel", ALL_OPS, [])

__all__ = [
    "ACTIVATIONS",
    "ALL_OPS",
    "KERNEL",
    "MIRRORED",
    "AttentionKernelOp",
    "Conv2DKernelOp",
    "ElementwiseOp",
    "KernelOp",
    "MatMulKernelOp",
    "MirrorKernelOp",
    "PoolKernelOp",
    "ReduceKernelOp",
    "SoftmaxKernelOp",
    "YieldOp",
    "is_elementwise",
]
