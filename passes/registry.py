"""Pass registry: kebab-case name -> factory of the pass class (lazy imports)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.passes import ModulePass

PASSES: dict[str, Callable[[], type[ModulePass]]] = {}


def register_pass(name: str, factory: Callable[[], type[ModulePass]]) -> None:
    PASSES[name] = factory


# ge-level optimization passes (folding, simplification, BN folding, pattern recognition).
def _ge_pass(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    return lambda: getattr(importlib.import_module(f"passes.{module}"), cls)


register_pass("inline-calls", _ge_pass("inline_calls", "InlineCalls"))
register_pass("fold-constants", _ge_pass("fold_constants", "FoldConstants"))
register_pass("simplify", _ge_pass("simplify", "Simplify"))
register_pass("emulate-narrow-types", _ge_pass("emulate_narrow_types", "EmulateNarrowTypes"))
register_pass("split-resize", _ge_pass("split_resize", "SplitResizePass"))
register_pass("fold-batch-norm", _ge_pass("fold_batch_norm", "FoldBatchNorm"))

# Memory planning (passes/memory/: liveness, planners, verifier, statistics).
register_pass("plan-memory", _ge_pass("plan_memory", "PlanMemory"))


# Fusion into the `kernel` dialect, the ge -> kernel conversion, the default pipeline.
def _pass(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    return lambda: getattr(importlib.import_module(module), cls)


register_pass("convert-ge-to-kernel", _pass("lowering.convert_ge_to_kernel", "ConvertGeToKernel"))
for _name, _module, _cls in (
    ("fuse-conv-bn-relu", "passes.fuse_conv_bn_relu", "FuseConvBnRelu"),
    ("fuse-conv-bias-activation", "passes.fuse_conv_bias_activation", "FuseConvBiasActivation"),
    ("fuse-conv-residual-add", "passes.fuse_conv_residual_add", "FuseConvResidualAdd"),
):
    register_pass(_name, _pass(_module, _cls))

# npu level: verification against a target.
register_pass("verify-npu", _pass("passes.verify_npu", "VerifyNpu"))
register_pass(
    "convert-kernel-to-npu", _pass("lowering.convert_kernel_to_npu", "ConvertKernelToNpu")
)
for _name, _module, _cls in (
    ("fuse-matmul-add-gelu", "passes.fuse_matmul_add_gelu", "FuseMatMulAddGelu"),
    ("fuse-matmul-multiply", "passes.fuse_matmul_multiply", "FuseMatMulMultiply"),
    ("fuse-matmul-transpose", "passes.fuse_matmul_transpose", "FuseMatMulTranspose"),
    ("fuse-matmul-residual-add", "passes.fuse_matmul_residual_add", "FuseMatMulResidualAdd"),
    ("fuse-matmul-scale", "passes.fuse_matmul_scale", "FuseMatMulScale"),
    ("fuse-softmax-dropout", "passes.fuse_softmax_dropout", "FuseSoftmaxDropout"),
    ("fuse-attention", "passes.fuse_attention", "FuseAttention"),
    ("fuse-attention-layout", "passes.fuse_attention_layout", "FuseAttentionLayout"),
    ("fuse-grouped-attention", "passes.fuse_grouped_attention", "FuseGroupedAttention"),
    ("fuse-elementwise", "passes.fuse_elementwise", "FuseElementwise"),
    ("combine-parallel-matmuls", "passes.combine_parallel", "CombineParallelMatmuls"),
    ("combine-parallel-convs", "passes.combine_parallel", "CombineParallelConvs"),
    ("copy-concat-operands", "passes.concat_in_place", "CopyConcatOperands"),
):
    register_pass(_name, _pass(_module, _cls))
register_pass("ge-optimize", _pass("passes.pipelines", "GeOptimize"))
register_pass("ge-compile", _pass("passes.pipelines", "GeCompile"))
register_pass("recognize-layer-norm", _ge_pass("recognize_layer_norm", "RecognizeLayerNormPass"))
register_pass("recognize-rms-norm", _ge_pass("recognize_rms_norm", "RecognizeRmsNormPass"))
register_pass("schedule-streams", _ge_pass("schedule_streams", "ScheduleStreams"))
register_pass(
    "select-implementations",
    _pass("passes.select_implementations", "SelectImplementations"),
)
register_pass("split-pointwise-convs", _ge_pass("split_pointwise_convs", "SplitPointwiseConvs"))
register_pass("split-wide-convs", _ge_pass("split_wide_convs", "SplitWideConvs"))
register_pass("sink-conv1d-reshapes", _ge_pass("sink_conv1d_reshapes", "SinkConv1dReshapes"))
register_pass("turn-1d-convs", _ge_pass("turn_1d_convs", "TurnOneDimensionalConvs"))
register_pass("recognize-gelu", _ge_pass("recognize_gelu", "RecognizeGeluPass"))
register_pass("recognize-silu", _ge_pass("recognize_silu", "RecognizeSiluPass"))
register_pass("recognize-group-norm", _ge_pass("recognize_group_norm", "RecognizeGroupNormPass"))
register_pass("recognize-rope", _ge_pass("recognize_rope", "RecognizeRopePass"))
register_pass("fuse-norm-activation", _ge_pass("fuse_norm_activation", "FuseNormActivation"))
register_pass("fold-channel-gates", _ge_pass("fold_channel_gates", "FoldChannelGates"))
register_pass("cast-cube-to-fp16", _ge_pass("precision", "CastCubeToFp16"))
register_pass("cast-graph-to-fp16", _ge_pass("precision", "CastGraphToFp16"))
