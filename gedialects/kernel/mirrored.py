"""Mirrored kernels: a one-op kernel for every `ge` op no fusion pattern absorbs.

Each has its `ge` op's exact operands, properties and type rule (`kernel.base.mirror`), so
conversion to the kernel level is a rename and the reference semantics are the `ge` op's.
`MIRRORED` maps the `ge` op class to its kernel, for the conversion and the interpreter.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DictionaryAttr, StringAttr
from xdsl.ir import Attribute
from xdsl.irdl import opt_prop_def

from gedialects.ge import ops as ge
from gedialects.ge.base import Props
from gedialects.kernel.base import KernelOp, MirrorKernelOp, check_activation, mirror
from gedialects.kernel.casting import CastingMirrorKernelOp

# Mirrored kernels: data movement ---------------------------------------------------------
TransposeKernelOp = mirror(ge.TransposeOp)
ReshapeKernelOp = mirror(
    ge.ReshapeOp, "A view of the input in a new row-major shape: moves no data when lowered."
)
ConcatKernelOp = mirror(ge.ConcatOp)
SliceKernelOp = mirror(ge.SliceOp)
PadKernelOp = mirror(ge.PadOp)
GatherKernelOp = mirror(ge.GatherOp)
ScatterKernelOp = mirror(ge.ScatterOp)
SplitKernelOp = mirror(ge.SplitOp)
ResizeKernelOp = mirror(ge.ResizeOp)

# Mirrored kernels: normalization and the rarer compute ops -------------------------------
LayerNormKernelOp = mirror(
    ge.LayerNormOp,
    "The `ge.layer_norm` op as one kernel; `cast_to` folds casts into it.",
    CastingMirrorKernelOp,
)
RMSNormKernelOp = mirror(ge.RMSNormOp, "The `ge.rms_norm` op as one kernel.")
RopeKernelOp = mirror(ge.RopeOp, "The `ge.rope` op (a rotary position embedding) as one kernel.")
BatchNormKernelOp = mirror(ge.BatchNormOp, "A batch norm no conv could absorb, as one kernel.")
InstanceNormKernelOp = mirror(ge.InstanceNormOp)
LogSoftmaxKernelOp = mirror(ge.LogSoftmaxOp)
LRNKernelOp = mirror(ge.LRNOp)
DropoutKernelOp = mirror(ge.DropoutOp, "A training-mode dropout (its own random mask).")


class ActivatedMirrorKernelOp(MirrorKernelOp):
    """A mirrored kernel that may apply an activation to its result (`activation`, named
    as in `kernel.base.ACTIVATIONS`, with `activation_attrs`): the `ge` op, then it, in one
    kernel (a transposed conv's upsampling and its ReLU: one write of the output)."""

    activation = opt_prop_def(StringAttr)
    activation_attrs = opt_prop_def(DictionaryAttr)

    @classmethod
    def infer_result_types(
        cls, operand_types: Sequence[Attribute], props: Props
    ) -> list[Attribute]:
        check_activation(cls, props, "activation")
        return MirrorKernelOp.infer_result_types.__func__(cls, operand_types, props)  # type: ignore[attr-defined]


ConvTranspose2DKernelOp = mirror(
    ge.ConvTranspose2DOp,
    "The `ge.conv_transpose2d` op as one kernel, and an optional activation of its result.",
    ActivatedMirrorKernelOp,
)
GroupNormKernelOp = mirror(
    ge.GroupNormOp,
    "The `ge.group_norm` op as one kernel, and an optional activation of its result (a "
    "diffusion net's GroupNorm + SiLU: one read for the statistics' passes and one write).",
    ActivatedMirrorKernelOp,
)
ArgMaxKernelOp = mirror(ge.ArgMaxOp)
ArgMinKernelOp = mirror(ge.ArgMinOp)

MIRRORED: dict[type, type[KernelOp]] = {
    cls.GE_OP: cls
    for cls in (
        TransposeKernelOp,
        ReshapeKernelOp,
        ConcatKernelOp,
        SliceKernelOp,
        PadKernelOp,
        GatherKernelOp,
        ScatterKernelOp,
        SplitKernelOp,
        ResizeKernelOp,
        LayerNormKernelOp,
        RMSNormKernelOp,
        RopeKernelOp,
        BatchNormKernelOp,
        InstanceNormKernelOp,
        LogSoftmaxKernelOp,
        LRNKernelOp,
        DropoutKernelOp,
        ConvTranspose2DKernelOp,
        GroupNormKernelOp,
        ArgMaxKernelOp,
        ArgMinKernelOp,
    )
}
"""`ge` op class -> the kernel that runs it unchanged."""
