# ruff: noqa: E501  (the model table: one constructor per line)
"""Hugging Face architectures (random weights, tiny configs) through `ge-run` against
onnxruntime, or through `ge.compile` of the torch module against torch.

A sweep for what real models exercise and unit tests do not: each model is built from a
`transformers` config (no download), its weights drawn again with fan-in scaling (the
library's own initialisation leaves some outputs degenerate: EfficientNet's are all
zeros), exported by torch's TorchScript exporter (or `--dynamo`, which needs onnxscript)
and run by `ge-run` in a subprocess on the exporter's inputs; a row says whether every
output is within rtol 1e-3 (fp16: 2e-2) of onnxruntime's, the largest error relative to
the largest output, the fallbacks, the kernels launched, the compile and run seconds and
the modeled makespan (cycles, as REPORT.json's `makespan_cycles`). `--frontend torch`
compiles the module itself with `ge.compile` (torch.export, or ONNX when that fails) and
compares with torch. Needs `pip install transformers` (not a dependency of the project);
about 5 minutes for every model on two cores.

    .venv/bin/python benchmarks/bench_hf_models.py [--models bert,llama|all] [--opset 11]
        [--dynamo] [--half] [--attn sdpa] [--frontend torch] [--level reference]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
S = 16
"""Tokens per sequence of the text models."""


def _cases(T, torch):  # noqa: ANN001, ANN202, C901, N803 (a table of constructors)
    def ids(v=100, s=S, b=1):  # noqa: ANN001, ANN202
        return torch.randint(0, v, (b, s))

    def img(c=3, h=32, w=32):  # noqa: ANN001, ANN202
        return torch.randn(1, c, h, w)

    tx = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        vocab_size=100,
    )  # noqa: E501

    def text(cfg, **kw):  # noqa: ANN001, ANN003, ANN202
        return cfg(**{**tx, **kw})

    # fmt: off
    return {
    "bert": lambda: (T.BertModel(text(T.BertConfig)), (ids(), torch.ones(1, S, dtype=torch.long))),
    "distilbert": lambda: (T.DistilBertModel(T.DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=4, hidden_dim=64)), (ids(),)),
    "roberta": lambda: (T.RobertaModel(text(T.RobertaConfig)), (ids(),)),
    "albert": lambda: (T.AlbertModel(text(T.AlbertConfig, embedding_size=16)), (ids(),)),
    "electra": lambda: (T.ElectraModel(text(T.ElectraConfig, embedding_size=16)), (ids(),)),
    "deberta_v2": lambda: (T.DebertaV2Model(text(T.DebertaV2Config)), (ids(),)),
    "deberta": lambda: (T.DebertaModel(text(T.DebertaConfig)), (ids(),)),
    "gpt2": lambda: (T.GPT2Model(T.GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=100, n_positions=64)), (ids(),)),
    "gpt_neo": lambda: (T.GPTNeoModel(T.GPTNeoConfig(hidden_size=32, num_layers=2, num_heads=4, vocab_size=100, attention_types=[[["global","local"],1]], window_size=8)), (ids(),)),
    "gptj": lambda: (T.GPTJModel(T.GPTJConfig(n_embd=32, n_layer=2, n_head=4, vocab_size=100, rotary_dim=4)), (ids(),)),
    "gpt_neox": lambda: (T.GPTNeoXModel(text(T.GPTNeoXConfig)), (ids(),)),
    "llama": lambda: (T.LlamaModel(text(T.LlamaConfig, num_key_value_heads=2)), (ids(),)),
    "mistral": lambda: (T.MistralModel(text(T.MistralConfig, num_key_value_heads=2)), (ids(),)),
    "qwen2": lambda: (T.Qwen2Model(text(T.Qwen2Config, num_key_value_heads=2)), (ids(),)),
    "phi": lambda: (T.PhiModel(text(T.PhiConfig)), (ids(),)),
    "gemma": lambda: (T.GemmaModel(text(T.GemmaConfig, num_key_value_heads=2, head_dim=8)), (ids(),)),
    "opt": lambda: (T.OPTModel(T.OPTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, ffn_dim=64, vocab_size=100, word_embed_proj_dim=32)), (ids(),)),
    "bloom": lambda: (T.BloomModel(T.BloomConfig(hidden_size=32, n_layer=2, n_head=4, vocab_size=100)), (ids(),)),
    "falcon": lambda: (T.FalconModel(text(T.FalconConfig)), (ids(),)),
    "t5": lambda: (T.T5Model(T.T5Config(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, vocab_size=100)), (ids(), None, ids())),
    "bart": lambda: (T.BartModel(T.BartConfig(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, vocab_size=100)), (ids(),)),
    "mpnet": lambda: (T.MPNetModel(text(T.MPNetConfig)), (ids(),)),
    "mobilebert": lambda: (T.MobileBertModel(T.MobileBertConfig(vocab_size=100, hidden_size=32, embedding_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, intra_bottleneck_size=16, true_hidden_size=16)), (ids(),)),
    "squeezebert": lambda: (T.SqueezeBertModel(text(T.SqueezeBertConfig, embedding_size=32, q_groups=2, k_groups=2, v_groups=2, post_attention_groups=2, intermediate_groups=2, output_groups=2)), (ids(),)),
    "funnel": lambda: (T.FunnelModel(T.FunnelConfig(vocab_size=100, block_sizes=[1,1], d_model=32, n_head=4, d_head=8, d_inner=64)), (ids(),)),
    "convbert": lambda: (T.ConvBertModel(text(T.ConvBertConfig, embedding_size=32)), (ids(),)),
    "xlnet": lambda: (T.XLNetModel(T.XLNetConfig(vocab_size=100, d_model=32, n_layer=2, n_head=4, d_inner=64)), (ids(),)),
    "wav2vec2": lambda: (T.Wav2Vec2Model(T.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, conv_dim=(16,16), conv_stride=(5,2), conv_kernel=(10,3), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)), (torch.randn(1, 800),)),
    "hubert": lambda: (T.HubertModel(T.HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, conv_dim=(16,16), conv_stride=(5,2), conv_kernel=(10,3), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)), (torch.randn(1, 800),)),
    "vit": lambda: (T.ViTModel(T.ViTConfig(image_size=32, patch_size=8, **{k:v for k,v in tx.items() if k!='vocab_size'})), (img(),)),
    "deit": lambda: (T.DeiTModel(T.DeiTConfig(image_size=32, patch_size=8, **{k:v for k,v in tx.items() if k!='vocab_size'})), (img(),)),
    "beit": lambda: (T.BeitModel(T.BeitConfig(image_size=32, patch_size=8, use_relative_position_bias=True, **{k:v for k,v in tx.items() if k!='vocab_size'})), (img(),)),
    "dinov2": lambda: (T.Dinov2Model(T.Dinov2Config(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, mlp_ratio=2)), (img(),)),
    "swin": lambda: (T.SwinModel(T.SwinConfig(image_size=32, patch_size=2, embed_dim=16, depths=[2,2], num_heads=[2,4], window_size=4)), (img(),)),
    "convnext": lambda: (T.ConvNextModel(T.ConvNextConfig(hidden_sizes=[16,32], depths=[1,1], num_stages=2)), (img(),)),
    "convnextv2": lambda: (T.ConvNextV2Model(T.ConvNextV2Config(hidden_sizes=[16,32], depths=[1,1], num_stages=2)), (img(),)),
    "resnet": lambda: (T.ResNetModel(T.ResNetConfig(embedding_size=16, hidden_sizes=[16,32], depths=[1,1])), (img(),)),
    "regnet": lambda: (T.RegNetModel(T.RegNetConfig(embedding_size=16, hidden_sizes=[16,32], depths=[1,1], groups_width=8)), (img(),)),
    "mobilenet_v2": lambda: (T.MobileNetV2Model(T.MobileNetV2Config(image_size=32, depth_multiplier=0.35)), (img(),)),
    "mobilenet_v1": lambda: (T.MobileNetV1Model(T.MobileNetV1Config(image_size=32, depth_multiplier=0.25)), (img(),)),
    "mobilevit": lambda: (T.MobileViTModel(T.MobileViTConfig(image_size=64, hidden_sizes=[16,24,32], neck_hidden_sizes=[8,8,16,16,24,32,64])), (img(h=64,w=64),)),
    "efficientnet": lambda: (T.EfficientNetModel(T.EfficientNetConfig(image_size=32)), (img(),)),
    "segformer": lambda: (T.SegformerForSemanticSegmentation(T.SegformerConfig(hidden_sizes=[8,16,24,32], depths=[1,1,1,1], num_attention_heads=[1,2,2,4], decoder_hidden_size=32, num_labels=3)), (img(h=64,w=64),)),
    "levit": lambda: (T.LevitModel(T.LevitConfig(image_size=64, hidden_sizes=[32,48,64], num_attention_heads=[2,3,4], depths=[1,1,1], key_dim=[8,8,8])), (img(h=64,w=64),)),
    "poolformer": lambda: (T.PoolFormerModel(T.PoolFormerConfig(hidden_sizes=[16,32,48,64], depths=[1,1,1,1])), (img(),)),
    "clip_vision": lambda: (T.CLIPVisionModel(T.CLIPVisionConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)), (img(),)),
    "clip_text": lambda: (T.CLIPTextModel(T.CLIPTextConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=100)), (ids(),)),
    "siglip_vision": lambda: (T.SiglipVisionModel(T.SiglipVisionConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)), (img(),)),
    "yolos": lambda: (T.YolosModel(T.YolosConfig(image_size=[32,32], patch_size=8, num_detection_tokens=5, **{k:v for k,v in tx.items() if k!='vocab_size'})), (img(),)),
    "dpt": lambda: (T.DPTForDepthEstimation(T.DPTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=64, backbone_out_indices=[0,1,2,3], neck_hidden_sizes=[8,16,24,32], fusion_hidden_size=16)), (img(),)),
    "mobilevitv2": lambda: (T.MobileViTV2Model(T.MobileViTV2Config(image_size=64, width_multiplier=0.5)), (img(h=64,w=64),)),
    "focalnet": lambda: (T.FocalNetModel(T.FocalNetConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1,1], focal_levels=[2,2])), (img(),)),
    "glpn": lambda: (T.GLPNForDepthEstimation(T.GLPNConfig(hidden_sizes=[8,16,24,32], depths=[1,1,1,1], num_attention_heads=[1,2,2,4], decoder_hidden_size=16)), (img(h=64,w=64),)),
    "mamba": lambda: (T.MambaModel(T.MambaConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, state_size=8, use_mambapy=False)), (ids(),)),
    "rwkv": lambda: (T.RwkvModel(T.RwkvConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, attention_hidden_size=32, intermediate_size=64, context_length=32)), (ids(),)),
    "fnet": lambda: (T.FNetModel(T.FNetConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, intermediate_size=64, use_tpu_fourier_optimizations=False)), (ids(),)),
    "speech2text": lambda: (T.Speech2TextModel(T.Speech2TextConfig(vocab_size=100, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, input_feat_per_channel=16, conv_channels=32, max_source_positions=64)).encoder, (torch.randn(1, 32, 16),)),
    "encodec": lambda: (T.EncodecModel(T.EncodecConfig(hidden_size=16, num_filters=4, upsampling_ratios=[4,2], codebook_size=16, num_lstm_layers=1)).encoder, (torch.randn(1, 1, 256),)),
    "detr": lambda: (T.DetrModel(T.DetrConfig(use_timm_backbone=False, use_pretrained_backbone=False, backbone_config=T.ResNetConfig(embedding_size=16, hidden_sizes=[16,32,48,64], depths=[1,1,1,1], out_features=["stage4"]), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, num_queries=10)), (img(h=64,w=64),)),
    "deformable_detr": lambda: (T.DeformableDetrModel(T.DeformableDetrConfig(use_timm_backbone=False, use_pretrained_backbone=False, backbone_config=T.ResNetConfig(embedding_size=16, hidden_sizes=[16,32,48,64], depths=[1,1,1,1], out_features=["stage2","stage3","stage4"]), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, num_queries=10, num_feature_levels=3, encoder_n_points=2, decoder_n_points=2)), (img(h=64,w=64),)),
    "sam_vision": lambda: (T.SamVisionModel(T.SamVisionConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, image_size=64, patch_size=8, output_channels=16, window_size=4, global_attn_indexes=[1], mlp_dim=64)), (img(h=64,w=64),)),
    "perceiver": lambda: (T.PerceiverModel(T.PerceiverConfig(num_latents=8, d_latents=32, d_model=16, num_blocks=1, num_self_attends_per_block=1, num_self_attention_heads=4, num_cross_attention_heads=1)), (torch.randn(1, 12, 16),)),
    "longt5": lambda: (T.LongT5EncoderModel(T.LongT5Config(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, vocab_size=100, local_radius=4)), (ids(),)),
    "bigbird": lambda: (T.BigBirdModel(text(T.BigBirdConfig, attention_type="original_full")), (ids(),)),
    "patchtst": lambda: (T.PatchTSTModel(T.PatchTSTConfig(num_input_channels=3, context_length=32, patch_length=8, patch_stride=8, d_model=16, num_attention_heads=2, num_hidden_layers=1, ffn_dim=32)), (torch.randn(1, 32, 3),)),
    "timesformer": lambda: (T.TimesformerModel(T.TimesformerConfig(image_size=32, patch_size=8, num_frames=2, **{k:v for k,v in tx.items() if k!='vocab_size'})), (torch.randn(1, 2, 3, 32, 32),)),
    "videomae": lambda: (T.VideoMAEModel(T.VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, **{k:v for k,v in tx.items() if k!='vocab_size'})), (torch.randn(1, 4, 3, 32, 32),)),
    "canine": lambda: (T.CanineModel(T.CanineConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, num_hash_buckets=64, downsampling_rate=4, local_transformer_stride=8)), (torch.randint(0, 1000, (1, 32)),)),
    "led": lambda: (T.LEDModel(T.LEDConfig(d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, vocab_size=100, attention_window=[8])), (ids(),)),
    "vitdet": lambda: (T.VitDetModel(T.VitDetConfig(image_size=32, pretrain_image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, window_block_indices=[0], window_size=2, use_relative_position_embeddings=True)), (img(),)),
    "maskformer_swin": lambda: (T.MaskFormerForInstanceSegmentation(T.MaskFormerConfig(backbone_config=T.SwinConfig(image_size=64, patch_size=4, embed_dim=16, depths=[1,1,1,1], num_heads=[1,2,2,4], window_size=2, out_features=["stage1","stage2","stage3","stage4"]), decoder_config=T.DetrConfig(d_model=32, decoder_layers=1, decoder_attention_heads=4, decoder_ffn_dim=64, num_queries=10), fpn_feature_size=32, mask_feature_size=32, num_labels=3)), (img(h=64,w=64),)),
    "zoedepth": lambda: (T.ZoeDepthForDepthEstimation(T.ZoeDepthConfig(backbone_config=T.BeitConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=64, out_indices=[1,2,3,4], use_relative_position_bias=True, reshape_hidden_states=False), neck_hidden_sizes=[8,16,24,32], fusion_hidden_size=16, bottleneck_features=16, num_relative_features=8, bin_embedding_dim=16, num_attractors=[4,2,2,1], bin_configurations=[{"n_bins": 8, "min_depth": 1e-3, "max_depth": 10.0, "name": "nyu"}])), (img(),)),
    "whisper_enc": lambda: (T.WhisperModel(T.WhisperConfig(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=16, max_source_positions=16, vocab_size=100, pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1)).encoder, (torch.randn(1, 16, 32),)),
    }
    # fmt: on


def build(name: str):  # noqa: ANN201
    """(the model wrapped to take positional tensors and return a tuple of tensors, inputs)."""
    import torch
    import transformers as T  # noqa: N812

    torch.manual_seed(0)
    model, args = _cases(T, torch)[name]()
    with torch.no_grad():  # fan-in scaled weights: O(1) activations in every model
        for pname, p in model.named_parameters():
            if p.dim() > 1:
                p.normal_(0, (1.0 / p[0].numel()) ** 0.5)
            elif pname.endswith("weight"):
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0, 0.1)
    args = tuple(a for a in args if a is not None)

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, *xs):  # noqa: ANN002, ANN202
            out = (
                self.inner(input_ids=xs[0], decoder_input_ids=xs[1])
                if name == "t5"
                else self.inner(*xs)
            )
            out = out.to_tuple() if hasattr(out, "to_tuple") else out
            out = (out,) if isinstance(out, torch.Tensor) else out
            return tuple(o for o in out if isinstance(o, torch.Tensor))

    return Wrapped(model).eval(), args


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """File descriptor 1 to /dev/null: a failed TorchScript export prints its whole graph
    from C++, past `sys.stdout`."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def export(model, args, path: Path, opts: argparse.Namespace) -> list[str]:  # noqa: ANN001
    import torch

    names = [f"in{i}" for i in range(len(args))]
    with warnings.catch_warnings(), torch.no_grad(), _quiet_stdout():
        warnings.simplefilter("ignore")
        if opts.dynamo:
            torch.onnx.export(model, args, str(path), dynamo=True, opset_version=opts.opset or 18,
                              input_names=names, verbose=False)  # fmt: skip
        else:
            torch.onnx.export(model, args, str(path), dynamo=False, opset_version=opts.opset or 17,
                              input_names=names)  # fmt: skip
    return names


def compare(
    got: list[np.ndarray], want: list[np.ndarray], half: bool = False
) -> tuple[bool, float]:
    """(every output close, the largest error relative to the largest |output|). With
    `half` (a model run in fp16) every output gets the fp16 tolerance, also one the model
    casts back to f32 at its end (Mamba's): its values carry fp16 rounding all the same."""
    ok, worst = len(got) == len(want), 0.0
    for g, w in zip(got, want):
        if g.shape != w.shape:
            return False, float("inf")
        if w.dtype.kind != "f":
            ok = ok and np.array_equal(g, w)
            continue
        scale = float(np.abs(w).max()) if w.size else 1.0
        worst = max(worst, float(np.abs(g.astype(np.float64) - w).max()) / (scale or 1.0))
        tol = 2e-2 if half or w.dtype == np.float16 else 1e-3
        ok = ok and np.allclose(g, w, rtol=tol, atol=tol * (scale or 1.0))
    return ok, worst


def run_onnx(name: str, model, args, opts: argparse.Namespace) -> str:  # noqa: ANN001
    import onnxruntime as ort

    folder = Path(tempfile.mkdtemp(prefix=f"hf-{name}-"))
    try:
        names = export(model, args, folder / "model.onnx", opts)
    except Exception as error:  # the exporter's own refusals
        return f"export failed: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
    feeds = {n: a.numpy() for n, a in zip(names, args)}
    np.savez(folder / "in.npz", **feeds)
    peer = "onnxruntime"
    try:
        session = ort.InferenceSession(
            str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        want = session.run(None, feeds)
    except Exception:  # no kernel for a type pair (GridSample f32 x f64): torch's outputs
        import torch

        peer = "torch (onnxruntime failed)"
        with torch.no_grad():
            want = [t.numpy() for t in model(*args)]
    command = [sys.executable, "-m", "ge.cli.run", str(folder / "model.onnx"), "--inputs",
               str(folder / "in.npz"), "--output", str(folder / "out.npz"), "--report",
               str(folder / "R.json"), "--no-cache", "--level", opts.level]  # fmt: skip
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode:
        refused = "" if peer == "onnxruntime" else " (onnxruntime refuses the export too)"
        return f"ge-run failed{refused}: " + (done.stderr.strip().splitlines() or ["?"])[-1][:200]
    with np.load(folder / "out.npz") as npz:
        got = [npz[k] for k in npz.files]
    report = json.loads((folder / "R.json").read_text())
    ok, worst = compare(got, want, opts.half)
    scale = max(float(np.abs(w).max()) for w in want if w.size)
    return (f"{'ok ' if ok else 'BAD'} err {worst:8.1e} max|y| {scale:8.2e} "
            f"fallbacks {len(report.get('fallbacks', []))} kernels {len(report['kernels']):4d} "
            f"compile {report['compile_seconds']:5.1f} s run {report['run_seconds']:5.1f} s "
            f"makespan {report.get('makespan_cycles', 0):9.0f}"
            + ("" if peer == "onnxruntime" else f" vs {peer}"))  # fmt: skip


def run_torch(name: str, model, args, opts: argparse.Namespace) -> str:  # noqa: ANN001, ARG001
    import torch

    import ge

    with torch.no_grad():
        want = [t.numpy() for t in model(*args)]
    start = time.perf_counter()
    try:
        got = ge.compile(model, example_inputs=args, level=opts.level, cache=False)(*args)
    except Exception as error:
        return f"ge.compile failed: {type(error).__name__}: {str(error)[:200]}"
    got = [got] if isinstance(got, torch.Tensor) else list(got)
    ok, worst = compare([g.detach().numpy() for g in got], want, opts.half)
    return f"{'ok ' if ok else 'BAD'} err {worst:8.1e} {time.perf_counter() - start:6.1f} s"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="all", help="comma list, or 'all'")
    p.add_argument("--frontend", choices=["onnx", "torch"], default="onnx")
    p.add_argument("--level", choices=["npu", "reference"], default="npu")
    p.add_argument("--opset", type=int, help="export opset (default 17; 18 with --dynamo)")
    p.add_argument("--dynamo", action="store_true", help="torch's dynamo exporter")
    p.add_argument("--half", action="store_true", help="the model and float inputs in fp16")
    p.add_argument("--attn", choices=["eager", "sdpa"], default="eager")
    opts = p.parse_args()
    try:
        import torch
        import transformers as T  # noqa: N812
    except ImportError:
        sys.exit("bench_hf_models needs transformers: pip install transformers")
    import logging

    logging.getLogger("transformers").setLevel(logging.ERROR)
    table = _cases(T, torch)
    names = list(table) if opts.models == "all" else opts.models.split(",")
    for name in names:
        model, args = build(name)
        config = getattr(model.inner, "config", None)  # (an encoder alone has none)
        if config is not None:
            config._attn_implementation = opts.attn
        if opts.half:
            model = model.half()
            args = tuple(a.half() if a.is_floating_point() else a for a in args)
        run = run_torch if opts.frontend == "torch" else run_onnx
        print(f"{name:16} {run(name, model, args, opts)}", flush=True)


if __name__ == "__main__":
    main()
