"""Full-size zoo networks in plain `torch.nn` (seeded random weights) for `bench_big_models`.

Each builder returns `(model, example_inputs, input_names)` at the size a model zoo ships:
VGG-16, AlexNet (with LRN, as the Caffe original), GPT-2 small (tied LM head), BERT-base with
its embeddings and pooler, MobileNetV2, EfficientNet-B0, DenseNet-121, Inception-v3 (299²),
a U-Net (256²) and ViT-B/16. No torchvision: the layer shapes follow its definitions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ge.testing.models import randomize_batch_norms
from ge.testing.torch_blocks import BertLayer, Bottleneck, GptBlock, MobileNetV2, ResNet


def _cbr(cin: int, cout: int, k, stride=1, pad=0, act=nn.ReLU) -> nn.Sequential:  # noqa: ANN001
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout), act()
    )


class VGG16(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        layers, cin = [], 3
        for v in (64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0):
            if v == 0:
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class AlexNet(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0),
            nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),
            nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class Gpt2(nn.Module):
    """GPT-2 small: token + position embeddings, 12 blocks, final LN, LM head tied to wte."""

    def __init__(self, vocab: int = 50257, hidden: int = 768, layers: int = 12, ctx: int = 1024):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, hidden), nn.Embedding(ctx, hidden)
        self.h = nn.ModuleList(GptBlock(hidden, 12, ctx) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)[None]
        x = self.wte(input_ids) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)


class BertBase(nn.Module):
    """BERT-base: word/position/type embeddings + LN, 12 layers, tanh pooler."""

    def __init__(self, vocab: int = 30522, hidden: int = 768, layers: int = 12):
        super().__init__()
        self.word, self.pos = nn.Embedding(vocab, hidden), nn.Embedding(512, hidden)
        self.token_type = nn.Embedding(2, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(hidden, 12, 4 * hidden) for _ in range(layers))
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):  # noqa: ANN201
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)[None]
        x = self.norm(self.word(input_ids) + self.pos(pos) + self.token_type(torch.zeros_like(pos)))
        for layer in self.layers:
            x = layer(x, attention_mask)
        return x, torch.tanh(self.pooler(x[:, 0]))


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: int):
        super().__init__()
        mid, squeeze = cin * expand, max(1, cin // 4)
        self.expand = _cbr(cin, mid, 1, act=nn.SiLU) if expand != 1 else nn.Identity()
        self.dw = nn.Sequential(
            nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False),
            nn.BatchNorm2d(mid), nn.SiLU(),
        )  # fmt: skip
        self.se = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, squeeze, 1), nn.SiLU(),
            nn.Conv2d(squeeze, mid, 1), nn.Sigmoid(),
        )  # fmt: skip
        self.project = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw(self.expand(x))
        y = self.project(y * self.se(y))
        return x + y if self.residual else y


class EfficientNetB0(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        blocks, cin = [_cbr(3, 32, 3, 2, 1, nn.SiLU)], 32
        for expand, k, stride, cout, repeats in (
            (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
            (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1),
        ):  # fmt: skip
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, k, stride if i == 0 else 1, expand))
                cin = cout
        blocks.append(_cbr(cin, 1280, 1, act=nn.SiLU))
        self.features, self.fc = nn.Sequential(*blocks), nn.Linear(1280, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int = 32, bn_size: int = 4):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, bn_size * growth, 1, bias=False),
            nn.BatchNorm2d(bn_size * growth), nn.ReLU(),
            nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], 1)


class DenseNet121(nn.Module):
    def __init__(self, classes: int = 1000, growth: int = 32):
        super().__init__()
        layers: list[nn.Module] = [_cbr(3, 64, 7, 2, 3), nn.MaxPool2d(3, 2, 1)]
        c = 64
        for i, n in enumerate((6, 12, 24, 16)):
            for _ in range(n):
                layers.append(DenseLayer(c, growth))
                c += growth
            if i < 3:
                layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False)]
                layers.append(nn.AvgPool2d(2, 2))
                c //= 2
        layers += [nn.BatchNorm2d(c), nn.ReLU()]
        self.features, self.fc = nn.Sequential(*layers), nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class Branches(nn.Module):
    """Parallel branches concatenated on channels (Inception-v3's A-E blocks)."""

    def __init__(self, *branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], 1)


def _seq(cin: int, *convs: tuple) -> nn.Sequential:
    """Conv-BN-ReLUs chained from `cin`: each (cout, kernel, stride, pad)."""
    layers = []
    for cout, k, s, p in convs:
        layers.append(_cbr(cin, cout, k, s, p))
        cin = cout
    return nn.Sequential(*layers)


def _pool_proj(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.AvgPool2d(3, 1, 1), _cbr(cin, cout, 1))


def _inception_a(c: int, pool: int) -> Branches:
    return Branches(
        _seq(c, (64, 1, 1, 0)), _seq(c, (48, 1, 1, 0), (64, 5, 1, 2)),
        _seq(c, (64, 1, 1, 0), (96, 3, 1, 1), (96, 3, 1, 1)), _pool_proj(c, pool),
    )  # fmt: skip


def _inception_c(c: int, m: int) -> Branches:
    r, w = ((1, 7), 1, (0, 3)), ((7, 1), 1, (3, 0))
    return Branches(
        _seq(c, (192, 1, 1, 0)), _seq(c, (m, 1, 1, 0), (m, *r), (192, *w)),
        _seq(c, (m, 1, 1, 0), (m, *w), (m, *r), (m, *w), (192, *r)), _pool_proj(c, 192),
    )  # fmt: skip


class _SplitE(nn.Module):
    """Inception-v3's E branch tail: a 1x3 and a 3x1 conv of the same input, concatenated."""

    def __init__(self, cin: int, c: int):
        super().__init__()
        self.a, self.b = _cbr(cin, c, (1, 3), 1, (0, 1)), _cbr(cin, c, (3, 1), 1, (1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), self.b(x)], 1)


def _inception_e(c: int) -> Branches:
    return Branches(
        _seq(c, (320, 1, 1, 0)), nn.Sequential(_seq(c, (384, 1, 1, 0)), _SplitE(384, 384)),
        nn.Sequential(_seq(c, (448, 1, 1, 0), (384, 3, 1, 1)), _SplitE(384, 384)),
        _pool_proj(c, 192),
    )  # fmt: skip


class InceptionV3(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        stem = _seq(3, (32, 3, 2, 0), (32, 3, 1, 0), (64, 3, 1, 1))
        stem2 = _seq(64, (80, 1, 1, 0), (192, 3, 1, 0))
        reduce_b = Branches(
            _seq(288, (384, 3, 2, 0)), _seq(288, (64, 1, 1, 0), (96, 3, 1, 1), (96, 3, 2, 0)),
            nn.MaxPool2d(3, 2),
        )  # fmt: skip
        reduce_d = Branches(
            _seq(768, (192, 1, 1, 0), (320, 3, 2, 0)),
            _seq(768, (192, 1, 1, 0), (192, (1, 7), 1, (0, 3)), (192, (7, 1), 1, (3, 0)),
                 (192, 3, 2, 0)),
            nn.MaxPool2d(3, 2),
        )  # fmt: skip
        self.features = nn.Sequential(
            stem, nn.MaxPool2d(3, 2), stem2, nn.MaxPool2d(3, 2),
            _inception_a(192, 32), _inception_a(256, 64), _inception_a(288, 64), reduce_b,
            _inception_c(768, 128), _inception_c(768, 160), _inception_c(768, 160),
            _inception_c(768, 192), reduce_d, _inception_e(1280), _inception_e(2048),
        )  # fmt: skip
        self.fc = nn.Linear(2048, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class UNet(nn.Module):
    """The original U-Net's widths (64..1024), padded convs, transposed-conv upsampling."""

    def __init__(self, cin: int = 3, classes: int = 2, widths=(64, 128, 256, 512, 1024)):  # noqa: ANN001
        super().__init__()

        def double(a: int, b: int) -> nn.Sequential:
            return nn.Sequential(_cbr(a, b, 3, 1, 1), _cbr(b, b, 3, 1, 1))

        self.down = nn.ModuleList([double(cin, widths[0])])
        self.down.extend(double(a, b) for a, b in zip(widths, widths[1:]))
        rev = widths[::-1]
        self.up = nn.ModuleList(nn.ConvTranspose2d(a, b, 2, 2) for a, b in zip(rev, rev[1:]))
        self.dec = nn.ModuleList(double(a, b) for a, b in zip(rev, rev[1:]))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for up, dec, skip in zip(self.up, self.dec, skips[-2::-1]):
            x = dec(torch.cat([skip, up(x)], 1))
        return self.head(x)


class VitLayer(nn.Module):
    def __init__(self, hidden: int = 768, heads: int = 12):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(hidden, eps=1e-6), nn.LayerNorm(hidden, eps=1e-6)
        self.qkv, self.proj = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, hidden)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        qkv = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, h // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(h // self.heads), -1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, h))
        return x + self.mlp(self.ln2(x))


class VitB16(nn.Module):
    def __init__(self, classes: int = 1000, hidden: int = 768, layers: int = 12):
        super().__init__()
        self.patch = nn.Conv2d(3, hidden, 16, 16)
        self.cls = nn.Parameter(torch.randn(1, 1, hidden) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, 197, hidden) * 0.02)
        self.layers = nn.Sequential(*(VitLayer(hidden) for _ in range(layers)))
        self.norm, self.head = nn.LayerNorm(hidden, eps=1e-6), nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.norm(self.layers(x))[:, 0])


def _image(size: int) -> tuple[torch.Tensor, ...]:
    return (torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(2)),)


def _tokens(vocab: int, length: int) -> torch.Tensor:
    return torch.randint(0, vocab, (1, length), generator=torch.Generator().manual_seed(2))


def _resnet50() -> nn.Module:
    return ResNet(Bottleneck, [3, 4, 6, 3], 64, 1000)


def _mobilenet_v2() -> nn.Module:
    return MobileNetV2(1.0, 1000)


IMAGE_MODELS = {
    "vgg16": (VGG16, 224), "alexnet": (AlexNet, 224), "mobilenet_v2": (_mobilenet_v2, 224),
    "efficientnet_b0": (EfficientNetB0, 224), "densenet121": (DenseNet121, 224),
    "inception_v3": (InceptionV3, 299), "unet": (UNet, 256), "vit_b16": (VitB16, 224),
    "resnet50": (_resnet50, 224),
}  # fmt: skip
SEQ = 32
"""Tokens of GPT-2 and BERT inputs (GPT-2's brief range is 16-64)."""


def build(name: str, seed: int = 0) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str]]:
    """The model `name` in eval mode with seeded weights, example inputs and their names."""
    torch.manual_seed(seed)
    if name == "gpt2":
        return Gpt2().eval(), (_tokens(50257, SEQ),), ["input_ids"]
    if name == "bert_base":
        mask = torch.ones(1, SEQ)
        mask[0, -4:] = 0
        return BertBase().eval(), (_tokens(30522, SEQ), mask), ["input_ids", "attention_mask"]
    make, size = IMAGE_MODELS[name]
    model, example = make().eval(), _image(size)
    randomize_batch_norms(model, example, seed)
    return model, example, ["input"]


NAMES = (*IMAGE_MODELS, "gpt2", "bert_base")
