"""Named pipelines, each one flat ordered list of the pass names `ge-opt -p` takes.

`ge-optimize` is the default high-to-mid optimization: fold what is known, recognise
composite ops, fuse, and convert the rest, so its output is entirely kernels (plus
constants). `ge-opt -p 'ge-optimize{stats=true}'` prints, on stderr, what each pass did
to the op counts. A pass that is not registered (a build without it) is skipped with a
warning on stderr, never silently.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass, PassPipeline

from gedialects.kernel import ElementwiseOp, KernelOp
from passes.matching import release_detached_users

GE_OPTIMIZE: tuple[str, ...] = (
    "inline-calls",  # helper functions' bodies into their callers: one function to compile
    "fold-constants",  # constant subgraphs (shape arithmetic too) become constants
    "simplify",  # algebraic identities, no-op data movement, inference dropout
    "recognize-layer-norm",  # ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add -> ge.layer_norm
    "recognize-rms-norm",  # Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul -> ge.rms_norm (after LN)
    "recognize-group-norm",  # Reshape/InstanceNormalization/Reshape/Mul/Add -> ge.group_norm
    "recognize-gelu",  # x * 0.5 * (1 + erf(x / sqrt 2)) -> ge.gelu
    "recognize-silu",  # x * sigmoid(x) -> ge.silu, an epilogue activation
    "recognize-rope",  # x * cos + rotate_half(x) * sin -> ge.rope, one kernel
    "cse",
    "fuse-attention",  # MatMul-Scale-(Mask)-Softmax-MatMul -> kernel.attention
    "fuse-attention-layout",  # the head split / merge transposes into its layouts
    "fuse-grouped-attention",  # GQA's repeated K and V read once per KV head
    "fuse-matmul-scale",  # Q.K^T/sqrt(d) where no attention kernel took it (GE's form)
    "fuse-softmax-dropout",  # the softmaxes no attention took
    "sink-conv1d-reshapes",  # a Conv1d's reshape back to 3-D below its activations and adds
    "fuse-conv-bn-relu",  # before fold-batch-norm, so the kernel records the BN
    "fold-batch-norm",  # the BNs no conv took: into matmuls, else x * s + t
    "fuse-conv-bias-activation",
    "fuse-norm-activation",  # GroupNorm + SiLU: one kernel
    "fuse-conv-residual-add",
    "fuse-matmul-add-gelu",
    "fuse-matmul-multiply",  # a gated linear unit's product (LLaMA's SwiGLU), a layer scale
    "fuse-matmul-transpose",  # a transposed result as Wᵀ Aᵀ: no transpose kernel after it
    "fuse-matmul-residual-add",  # a transformer's skip connection after the bias
    "fold-channel-gates",  # squeeze-excitation's y * g into the next conv's weights
    "fuse-elementwise",  # TVM's rules: epilogues first, then elementwise chains
    "split-resize",  # N-d resizes as resizes of the last two axes (the npu lowerings' form)
    "convert-ge-to-kernel",  # whatever is left, one kernel per op
    "combine-parallel-matmuls",  # Q, K, V projections of one input: one GEMM, split in its stores
    "combine-parallel-convs",  # an inception block's 1x1 convs of one input: one conv, a view split
    "copy-concat-operands",  # a concat its producers write in place copies only the rest
    "cse",
    "dce",
)
"""The `ge-optimize` pipeline, in order."""

_NOT_COUNTED = ("builtin.module", "func.func", "func.return")


def op_counts(module: ModuleOp) -> Counter[str]:
    """Ops by name, outside kernel bodies (those are one kernel's scalar code)."""
    counts: Counter[str] = Counter()
    for op in module.walk():
        if op.name not in _NOT_COUNTED and not isinstance(op.parent_op(), ElementwiseOp):
            counts[op.name] += 1
    return counts


def kernel_count(module: ModuleOp) -> int:
    """Kernels at the top level: what the device will launch."""
    return sum(1 for op in module.walk() if isinstance(op, KernelOp))


def describe_change(before: Counter[str], after: Counter[str]) -> str:
    """`-ge.add 2, +kernel.conv2d 1`: which ops a pass removed and created."""
    names = sorted(set(before) | set(after), key=lambda n: (after[n] - before[n], n))
    parts = [f"{after[n] - before[n]:+d} {n}" for n in names if after[n] != before[n]]
    return ", ".join(parts) or "no change"


def resolve(names: tuple[str, ...]) -> list[tuple[str, Callable[[], type[ModulePass]]]]:
    """(name, factory) of each registered pass of `names`; warns about missing ones."""
    from xdsl.transforms import get_all_passes

    from ge.registry import all_passes

    known = {**get_all_passes(), **all_passes()}
    found = []
    for name in names:
        if name in known:
            found.append((name, known[name]))
        else:
            print(f"ge-optimize: skipping pass '{name}': not registered", file=sys.stderr)
    return found


@dataclass(frozen=True)
class GeOptimize(ModulePass):
    """Fold, recognise, fuse and convert: ge to fused kernels (stats=true prints per pass)."""

    name = "ge-optimize"

    stats: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rows = []
        for name, factory in resolve(GE_OPTIMIZE):
            try:
                pass_class = factory()
            except ImportError as error:
                print(f"ge-optimize: skipping pass '{name}': {error}", file=sys.stderr)
                continue
            before = op_counts(op) if self.stats else Counter()
            start = time.perf_counter()
            pass_class().apply(ctx, op)
            release_detached_users(op)
            if self.stats:
                elapsed = time.perf_counter() - start
                rows.append((name, before, op_counts(op), kernel_count(op), elapsed))
        if self.stats:
            print_stats(rows)


@dataclass(frozen=True)
class GeCompile(ModulePass):
    """The whole compile (DESIGN.md's named default pipeline), as ge-run's npu level runs
    it in GE's default force_fp32 mode: ge-optimize, implementations chosen for the
    target, pointwise convs split, streams, the memory plan, then the npu dialect.
    `ge-opt model.onnx -p ge-compile` prints what `ge-run` would execute."""

    name = "ge-compile"

    target: str = "ascend910a"
    reuse: bool = True
    """Memory reuse in the plan (`plan-memory{reuse}`; GE's memory_reuse)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from passes.registry import PASSES  # (it registers this module's passes)

        lower = f'convert-kernel-to-npu{{target="{self.target}"}}'
        spec = f"ge-optimize,{npu_level_spec(self.target, self.reuse)},{lower}"
        PassPipeline.parse_spec(PASSES, spec).apply(ctx, op)


def npu_level_spec(target: str, reuse: bool, conv_algorithm: str | None = None) -> str:
    """The passes between ge-optimize and the npu lowering, as ge-run's npu level and
    `ge-compile` run them: implementations chosen for `target` (or `conv_algorithm` for
    every conv; 1-D convs turned along the height where cheaper, and convs too wide for the
    direct-summing lowerings cut into strips, first),
    pointwise convs split, streams, the memory plan (`reuse`)."""
    wide = f'turn-1d-convs{{target="{target}"}},split-wide-convs{{target="{target}"}}'
    select = f'select-implementations{{target="{target}"'
    if conv_algorithm:
        select += f" conv-algorithm={conv_algorithm}"
    select += "}"
    split = f'split-pointwise-convs{{target="{target}"}}'
    plan = f"plan-memory{{reuse={'true' if reuse else 'false'}}}"
    return ",".join([wide, select, split, "schedule-streams", plan])


def print_stats(rows: list[tuple[str, Counter, Counter, int, float]]) -> None:
    """One line per pass: ops before -> after, kernels, time, and what changed."""
    out = sys.stderr
    print("ge-optimize statistics (ops outside kernel bodies):", file=out)
    for name, before, after, kernels, seconds in rows:
        total = f"{sum(before.values())} -> {sum(after.values())}"
        change = describe_change(before, after)
        line = f"  {name:<26} ops {total:<12} kernels {kernels:<4} {seconds * 1e3:7.1f} ms"
        print(f"{line}  {change}", file=out)
    if rows:
        first, last = rows[0][1], rows[-1][2]
        kernels, seconds = rows[-1][3], sum(r[4] for r in rows)
        print(
            f"  total: {sum(first.values())} ops -> {sum(last.values())} "
            f"({kernels} kernels) in {seconds * 1e3:.1f} ms",
            file=out,
        )


def is_kernel_level(op: Operation) -> bool:
    """Whether `op` may stay after ge-optimize: a kernel, a constant, or func structure."""
    return isinstance(op, KernelOp) or op.name in (*_NOT_COUNTED, "ge.constant")
