"""Modeled cycles of kernel.attention on the npu: fused vs unfused vs the roofline.

Shapes: BERT-base self-attention (B=1, 12 heads, S=128 and 512, d=64; f16 and f32) and the
zoo's GPT block attention (`benchmarks/ge_models.py` gpt_block: S=128, 12 heads, d=64, f32,
causal (S, S) mask, K already (d, S)), written as the kernel.attention that fuse-attention
makes of it. Each row runs the lowered program on the npu interpreter (ascend910a) and
prints the modeled cycles of the fused kernel and of the unfused kernels (summed), the
fused kernel's roofline, and each form's estimate from `runtime/attention_cost.py`.
Run: .venv/bin/python benchmarks/bench_npu_attention.py
"""

from __future__ import annotations

import numpy as np
from xdsl.parser import Parser

from ge.registry import make_context
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target

CASES = [
    ("bert S=128 f16", 128, "f16", None),
    ("bert S=128 f32", 128, "f32", None),
    ("bert S=512 f16", 512, "f16", None),
    ("bert S=512 f32", 512, "f32", None),
    ("gpt block S=128 f32 causal", 128, "f32", "causal"),
]


def _module(seq: int, dtype: str, mask: str | None, algorithm: str):  # noqa: ANN202
    t = lambda *s: f"tensor<{'x'.join(map(str, s))}x{dtype}>"  # noqa: E731
    q, k, o = t(1, 12, seq, 64), t(1, 12, 64, seq), t(1, 12, seq, 64)
    params = f"%q: {q}, %k: {k}, %v: {q}" + (f", %m: {t(seq, seq)}" if mask else "")
    operands = "%q, %k, %v" + (" mask %m" if mask else "")
    types = f"{q}, {k}, {q}" + (f", {t(seq, seq)}" if mask else "")
    text = f"""func.func @main({params}) -> {o} {{
  %o = kernel.attention {operands} {{scale = 0.125 : f64, key_transposed = false, algorithm = "{algorithm}", fused_from = ["ge.matmul", "ge.mul", "ge.softmax", "ge.matmul"]}} : ({types}) -> {o}
  func.return %o : {o}
}}"""  # noqa: E501
    return Parser(make_context(), text).parse_module()


def _inputs(seq: int, dtype: str, mask: str | None) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    dt = np.float16 if dtype == "f16" else np.float32
    arrays = [rng.standard_normal(s).astype(dt) for s in [(1, 12, seq, 64), (1, 12, 64, seq)]]
    arrays.append(rng.standard_normal((1, 12, seq, 64)).astype(dt))
    if mask:
        arrays.append(np.triu(np.full((seq, seq), -1e4 if dtype == "f16" else -1e9, dt), 1))
    return arrays


def main() -> None:
    from lowering.lower_attention import attention_costs

    print(f"{'case':30s} {'fused':>8s} {'unfused':>8s} {'roofline':>8s} {'ratio':>6s} "
          f"{'est fused':>9s} {'est unf':>8s}")  # fmt: skip
    for name, seq, dtype, mask in CASES:
        cycles, roofline = {}, 0.0
        for algorithm in ("fused", "unfused"):
            module = _module(seq, dtype, mask, algorithm)
            result = NpuExecutable(lower_module(module)).run(_inputs(seq, dtype, mask))
            cycles[algorithm] = sum(k.cycles for k in result.profile.kernels)
            if algorithm == "fused":
                roofline = result.profile.kernels[0].roofline_cycles
        op = next(
            o for o in _module(seq, dtype, mask, "fused").walk() if o.name == "kernel.attention"
        )
        est = attention_costs(op, load_target(None))
        fused_est = est.get("fused", 0.0)
        print(f"{name:30s} {cycles['fused']:8.0f} {cycles['unfused']:8.0f} {roofline:8.0f} "
              f"{roofline / cycles['fused']:6.2f} {fused_est:9.0f} "
              f"{est['unfused']:8.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
