"""The main job (`make run`): what the compiler does with the seed's two case studies and a
full ResNet-18, shown the way a user wants to see it.

For each model: the IR at each level (abridged), what was fused, the chosen algorithms,
the memory peak beside its lower bound, the stream timeline, the per-kernel profile on the
modeled ascend910a, and the numerical check against onnxruntime.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from gedialects.ge import (
    AddOp,
    BatchNormOp,
    ConstantOp,
    Conv2DOp,
    DropoutOp,
    MatMulOp,
    MulOp,
    ReluOp,
    SoftmaxOp,
    TransposeOp,
)
from gedialects.ge.constant import constant_elision
from gedialects.ge.types import tensor


def _function(block: Block, result, name: str = "main") -> ModuleOp:
    fn = func.FuncOp(name, ([a.type for a in block.args], [result.type]), Region(block))
    module = ModuleOp([fn])
    module.verify()
    return module


def resnet_basic_block(channels: int = 64, size: int = 56, seed: int = 0) -> ModuleOp:
    """Conv-BN-ReLU, Conv-BN, residual Add, ReLU: the seed's first case study."""
    rng = np.random.default_rng(seed)
    block = Block(arg_types=[tensor([1, channels, size, size], f32)])
    x = block.args[0]
    ops: list = []

    def const(*shape: int, positive: bool = False) -> ConstantOp:
        data = rng.random(shape) + 0.5 if positive else rng.standard_normal(shape) * 0.1
        op = ConstantOp(data.astype(np.float32))
        ops.append(op)
        return op

    def conv_bn(value):
        conv = Conv2DOp(value, const(channels, channels, 3, 3), pads=[1, 1, 1, 1])
        bn = BatchNormOp(
            conv,
            const(channels, positive=True),
            const(channels),
            const(channels),
            const(channels, positive=True),
        )
        ops.extend([conv, bn])
        return bn

    relu1 = ReluOp(conv_bn(x))
    ops.append(relu1)
    add = AddOp(conv_bn(relu1), x)
    relu2 = ReluOp(add)
    ops.extend([add, relu2, func.ReturnOp(relu2)])
    block.add_ops(ops)
    return _function(block, relu2.output)


def attention_block(seq: int = 128, dim: int = 64, seed: int = 0) -> ModuleOp:
    """softmax(Q·Kᵀ/√d + mask)·V with inference dropout: the seed's second case study."""
    rng = np.random.default_rng(seed)
    block = Block(arg_types=[tensor([1, seq, dim], f32), tensor([1, seq, seq], f32)])
    x, mask = block.args
    ops: list = []

    def project():
        w = ConstantOp((rng.standard_normal((dim, dim)) / np.sqrt(dim)).astype(np.float32))
        mm = MatMulOp(x, w)
        ops.extend([w, mm])
        return mm

    q, k, v = project(), project(), project()
    kt = TransposeOp(k, perm=[0, 2, 1])
    scores = MatMulOp(q, kt)
    scale = ConstantOp(np.array(1 / np.sqrt(dim), np.float32))
    scaled = MulOp(scores, scale)
    masked = AddOp(scaled, mask)
    probs = SoftmaxOp(masked, axis=-1)
    dropped = DropoutOp(probs, ratio=0.1)
    out = MatMulOp(dropped, v)
    ops += [kt, scores, scale, scaled, masked, probs, dropped, out, func.ReturnOp(out)]
    block.add_ops(ops)
    return _function(block, out.output)


# ---------------------------------------------------------------------------------------


def step(label: str) -> Callable[[], None]:
    """Progress display: print the step, then its time when done."""
    print(f"  .. {label}", end="", flush=True)
    start = time.perf_counter()
    return lambda: print(f" ({time.perf_counter() - start:.2f} s)", flush=True)


def abridged(text: str, lines: int = 14) -> str:
    rows = text.splitlines()
    cut = [r if len(r) <= 140 else r[:137] + "..." for r in rows[:lines]]
    if len(rows) > lines:
        cut.append(f"    ... ({len(rows) - lines} more lines)")
    return "\n".join("    " + r for r in cut)


def op_histogram(module: ModuleOp) -> str:
    counts = Counter(op.name for op in module.walk() if op.name not in ("builtin.module",))
    return ", ".join(f"{n} x{c}" for n, c in counts.most_common())


def onnxruntime_outputs(module: ModuleOp, inputs: list[np.ndarray]) -> list[np.ndarray]:
    import onnxruntime

    from ge.frontends.onnx_export import export_onnx

    model = export_onnx(module)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs)))


def show(title: str, module: ModuleOp, inputs: list[np.ndarray], reference: Any = None) -> bool:
    import ge
    from ge.npu_level import NpuProgram

    print(f"\n{'=' * 96}\n{title}\n{'=' * 96}")
    print(f"[ge]      {op_histogram(module)}")
    with constant_elision(8):
        print(abridged(str(module)))
    done = step(
        "compiling (ge-optimize, select-implementations, split-pointwise-convs, schedule-streams,"
        " plan-memory)"
    )
    compiled = ge.compile(module, level="npu", cache=False)
    done()
    plan = compiled.plan()
    print(f"[kernel]  {op_histogram(plan.module)}")
    done = step("running on the modeled ascend910a")
    with ge.profile() as prof:
        outputs = compiled.run(*inputs)
    done()
    program: NpuProgram = plan.stats["npu_program"]
    profile = compiled.last_profile
    print("\nwhat was fused, how each kernel runs, modeled cycles / roofline cycles:")
    for k in profile["kernels"]:
        algo = f" [{k['algorithm']}]" if k.get("algorithm") else ""
        if k.get("estimated"):
            where = f"reference (no npu lowering yet), ~{k['cycles']:,.0f} cycles estimated"
        else:
            ratio = k["roofline_cycles"] / k["cycles"] if k["cycles"] else 0.0
            where = f"npu {k['cycles']:,.0f} cycles, roofline ratio {ratio:.2f}"
        print(f"  {k['name']:<14}{' + '.join(k['fused_from'])}{algo}\n  {'':<14}-> {where}")
    lowered = next(iter(program.runner.executables.values()), None)
    if lowered is not None:
        print("\n[npu]     one kernel, lowered (abridged):")
        print(abridged(str(lowered.fn), 18))
    memory = profile["memory"]
    ratio = memory["peak_bytes"] / max(memory["lower_bound_bytes"], 1)
    print(
        f"\nmemory:   arena peak {memory['peak_bytes']:,} B, lower bound "
        f"{memory['lower_bound_bytes']:,} B (ratio {ratio:.3f}), no reuse "
        f"{memory['no_reuse_bytes']:,} B, planner {memory['planner']}"
    )
    print(
        f"streams:  {profile['streams']} stream(s), makespan {profile['makespan_cycles']:,.0f} "
        f"cycles, critical path {profile['critical_path_cycles']:,.0f} cycles"
    )
    print("\nprofile (modeled time on ascend910a):")
    print(prof.key_averages().table(top=12))
    expected = reference if reference is not None else onnxruntime_outputs(module, inputs)
    errors = [float(np.max(np.abs(o - e))) for o, e in zip(outputs, expected)]
    ok = all(np.allclose(o, e, rtol=1e-4, atol=1e-4) for o, e in zip(outputs, expected))
    print(
        f"\ncheck against onnxruntime: max |diff| {max(errors):.2e} -> {'OK' if ok else 'MISMATCH'}"
    )
    return ok


def resnet18_from_torch() -> tuple[ModuleOp, list[np.ndarray], list[np.ndarray]] | None:
    try:
        import onnxruntime
        import torch  # noqa: F401
    except ImportError:
        print("\n(torch is not installed: skipping ResNet-18; `pip install -e .[torch]`)")
        return None
    from ge.frontends.onnx import import_onnx_model
    from ge.testing.models import build, export_onnx

    done = step("building ResNet-18 in torch and exporting it to ONNX (224x224)")
    model, example = build("resnet18", small=False)
    proto = export_onnx(model, example)
    done()
    done = step("importing the ONNX model")
    module = import_onnx_model(proto, source="resnet18.onnx")
    done()
    inputs = [t.numpy() for t in example]
    session = onnxruntime.InferenceSession(
        proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in session.get_inputs()]
    return module, inputs, session.run(None, dict(zip(names, inputs)))


def main() -> int:
    rng = np.random.default_rng(1)
    ok = show(
        "1. The seed's ResNet basic block (64 channels, 56x56)",
        resnet_basic_block(),
        [rng.standard_normal((1, 64, 56, 56)).astype(np.float32)],
    )
    mask = np.triu(np.full((1, 128, 128), -1e9, np.float32), k=1)
    ok &= show(
        "2. The seed's attention block (seq 128, dim 64, causal mask)",
        attention_block(),
        [rng.standard_normal((1, 128, 64)).astype(np.float32), mask],
    )
    print(f"\n{'=' * 96}\n3. ResNet-18 from PyTorch, through ONNX\n{'=' * 96}")
    resnet = resnet18_from_torch()
    if resnet is not None:
        module, inputs, expected = resnet
        ok &= show("ResNet-18 (1x3x224x224)", module, inputs, reference=expected)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
