"""Grouped-query attention with K and V read unrepeated vs repeated, on ascend910a.

LLaMA-2-70B, LLaMA-3, Mistral and Qwen2 share each key/value head among g query heads;
HF's `repeat_kv` copies K and V g times (an expand kernel each) before the attention reads
them. `fuse-grouped-attention` makes the attention broadcast the unrepeated K and V over
the group, and in a decoding step it stacks the group's queries as rows of one tile, so the
KV cache is read once per KV head; torch's own `repeat` exports as ONNX Tile, which the
importer writes as an expand between reshapes: the same repeat. Each case, a plain
`torch.nn` block exported at opset 17, is compiled by `ge-optimize` with and without the
pass, lowered and run on the npu interpreter; the table gives the kernels' summed modeled
cycles and HBM bytes, their ratio, the kernels run and the output's distance from
onnxruntime's.

    .venv/bin/python benchmarks/bench_grouped_attention.py
"""

from __future__ import annotations

import torch
from pipeline_ab import compare

from ge.testing.models import export_onnx
from ge.testing.torch_blocks import GroupedAttention
from passes.pipelines import GE_OPTIMIZE

GROUPED = ",".join(GE_OPTIMIZE)
REPEATED = GROUPED.replace("fuse-grouped-attention,", "")


def _prefill(dim: int, heads: int, kv_heads: int, tokens: int):  # noqa: ANN202
    def build():  # noqa: ANN202
        torch.manual_seed(0)
        model = GroupedAttention(dim, heads, kv_heads, tokens, base=500000.0).eval()
        x = torch.randn(1, tokens, dim)
        return export_onnx(model, [x], input_names=["x"]), x.numpy()

    return build


def _decode(  # noqa: ANN202
    dim: int, heads: int, kv_heads: int, cache: int, batch: int = 1, repeat: str = "repeat_kv"
):
    def build():  # noqa: ANN202
        torch.manual_seed(0)
        model = GroupedAttention(dim, heads, kv_heads, cache + 1, base=500000.0, repeat=repeat)
        model.eval()
        shape = (batch, kv_heads, cache, dim // heads)
        inputs = {"x": torch.randn(batch, 1, dim), "past_k": torch.randn(shape),
                  "past_v": torch.randn(shape)}  # fmt: skip
        proto = export_onnx(model, list(inputs.values()), input_names=list(inputs))
        return proto, {name: t.numpy() for name, t in inputs.items()}

    return build


CASES = [
    ("prefill d 1024, 16 heads / 4 KV, 256 tokens", _prefill(1024, 16, 4, 256)),
    ("prefill d 2048, 32 heads / 8 KV, 512 tokens", _prefill(2048, 32, 8, 512)),
    ("decode d 2048, 32 heads / 8 KV, cache 1024", _decode(2048, 32, 8, 1024)),
    ("decode d 2048, 32 heads / 8 KV, cache 1024, batch 4", _decode(2048, 32, 8, 1024, 4)),
    ("decode d 1024, 16 heads / 1 KV (MQA), cache 2048", _decode(1024, 16, 1, 2048)),
    ("decode d 2048, 32 / 8, cache 1024, batch 4, as ONNX Tile",
     _decode(2048, 32, 8, 1024, 4, repeat="tile")),
]


def main() -> None:
    torch.manual_seed(0)
    compare(CASES, REPEATED, GROUPED, ("case", "repeated", "grouped"))


if __name__ == "__main__":
    main()
