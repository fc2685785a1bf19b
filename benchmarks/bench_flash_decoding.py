"""Flash-decoding: the fused attention with its key axis split over the cores vs not split,
and the unfused form, on ascend910a.

A decoding step gives the fused kernel few (batch index, query tile) items: a LLaMA-3-8B
step after `fuse-grouped-attention` has 8 (a KV head's 4 queries as rows each), multi-query
attention one. Unsplit, each item runs on one core and reads its KV head's whole cache at
that core's 32 B/cycle. Split (`attention_flash.Flash._split_item`), the keys spread over
the cores and a second kernel merges the splits. Each row lowers one kernel.attention, runs
it on the npu interpreter, and prints the modeled cycles of the chosen fused form, of the
fused form with the split turned off, of the unfused kernels (summed), the roofline of the
chosen kernels, and the estimates (`runtime/attention_cost.py`) of both forms.

    .venv/bin/python benchmarks/bench_flash_decoding.py
"""

from __future__ import annotations

from unittest import mock

import numpy as np
from xdsl.parser import Parser

from ge.registry import make_context
from lowering.convert_kernel_to_npu import lower_module
from runtime import attention_cost
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target

CASES = [
    # name, Q lead axes, K/V lead axes, query rows, keys, head dim, dtype
    ("MQA step, 16 heads as rows, 2048 keys", (1, 1), (1, 1), 16, 2048, 128, "f16"),
    ("GQA step, 8 KV heads x 4 rows, 2048 keys", (1, 8), (1, 8), 4, 2048, 128, "f32"),
    ("GQA step, batch 4, 8 x 4 rows, 1024 keys", (4, 8), (4, 8), 4, 1024, 128, "f16"),
    ("64 rows, 8192 keys (online softmax)", (1,), (1,), 64, 8192, 32, "f32"),
    ("BERT, 2 heads of 128", (1, 2), (1, 2), 128, 128, 64, "f32"),
]


def _module(lead, kv_lead, sq: int, sk: int, d: int, dtype: str, algorithm: str):  # noqa: ANN001, ANN202
    t = lambda *s: f"tensor<{'x'.join(map(str, s))}x{dtype}>"  # noqa: E731
    q, k = t(*lead, sq, d), t(*kv_lead, sk, d)
    text = f"""func.func @main(%q: {q}, %k: {k}, %v: {k}) -> {q} {{
  %o = kernel.attention %q, %k, %v {{scale = 0.088 : f64, key_transposed = true, algorithm = "{algorithm}", fused_from = ["ge.matmul", "ge.softmax", "ge.matmul"]}} : ({q}, {k}, {k}) -> {q}
  func.return %o : {q}
}}"""  # noqa: E501
    return Parser(make_context(), text).parse_module()


def _run(module, shapes: list[tuple[int, ...]], dtype: str) -> tuple[float, float]:  # noqa: ANN001
    """(modeled cycles, roofline cycles) of the module's kernels, summed."""
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np.float16 if dtype == "f16" else np.float32)
              for s in shapes]  # fmt: skip
    kernels = NpuExecutable(lower_module(module)).run(inputs).profile.kernels
    return sum(k.cycles for k in kernels), sum(k.roofline_cycles for k in kernels)


def main() -> None:
    from lowering.lower_attention import attention_costs

    target = load_target(None)
    print(f"{'case':42s} {'split':>7s} {'unsplit':>8s} {'unfused':>8s} {'roofline':>8s} "
          f"{'ratio':>6s} {'est fused':>9s} {'est unf':>8s}")  # fmt: skip
    for name, lead, kv_lead, sq, sk, d, dtype in CASES:
        shapes = [(*lead, sq, d), (*kv_lead, sk, d), (*kv_lead, sk, d)]
        split, roofline = _run(_module(lead, kv_lead, sq, sk, d, dtype, "fused"), shapes, dtype)
        with mock.patch.object(attention_cost, "_splits", lambda *args: []):
            whole, _ = _run(_module(lead, kv_lead, sq, sk, d, dtype, "fused"), shapes, dtype)
        unfused, _ = _run(_module(lead, kv_lead, sq, sk, d, dtype, "unfused"), shapes, dtype)
        op = next(
            o for o in _module(lead, kv_lead, sq, sk, d, dtype, "fused").walk()
            if o.name == "kernel.attention"
        )  # fmt: skip
        est = attention_costs(op, target)
        fused_est, unfused_est = est.get("fused", 0.0), est["unfused"]
        print(f"{name:42s} {split:7.0f} {whole:8.0f} {unfused:8.0f} {roofline:8.0f} "
              f"{roofline / split:6.2f} {fused_est:9.0f} {unfused_est:8.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
