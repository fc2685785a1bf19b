"""Small `torch.nn` versions of the ONNX model zoo's vision networks, and hand-written
old-opset graphs (opset 7-9 attributes torch no longer writes), for
`test_zoo_vision_models.py`. Each keeps the zoo model's characteristic ops at toy sizes."""

from __future__ import annotations

import numpy as np
import torch
from onnx import TensorProto, helper, numpy_helper

nn, F = torch.nn, torch.nn.functional


class AlexNet(nn.Module):
    """AlexNet / CaffeNet: big-kernel strided conv, LRN, overlapping max pool, FC + dropout."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 5, stride=2, padding=2)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
        self.conv2 = nn.Conv2d(8, 12, 3, padding=1)
        self.fc1 = nn.Linear(12 * 3 * 3, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(self.lrn(F.relu(self.conv1(x))), 3, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 3, 2)
        x = F.dropout(torch.flatten(x, 1), training=self.training)
        return F.softmax(self.fc2(F.relu(self.fc1(x))), 1)


class VGG(nn.Module):
    """VGG-16/19 with batch norm: 3x3 conv + BN + ReLU stacks, max pools, adaptive avg pool."""

    def __init__(self):
        super().__init__()
        layers, c = [], 3
        for width in (8, "M", 16, 16, "M"):
            if width == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
                c = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(nn.Linear(16 * 4, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class Inception(nn.Module):
    """GoogLeNet / Inception: LRN, four branches concatenated, avg pool with pads."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.lrn = nn.LocalResponseNorm(3)
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(8, 2, 1), nn.ReLU(), nn.Conv2d(2, 4, 5, padding=2))
        self.b4 = nn.Conv2d(8, 4, 1)
        self.fc = nn.Linear(18, 5)

    def forward(self, x):
        x = self.lrn(F.max_pool2d(F.relu(self.stem(x)), 3, 2, padding=1, ceil_mode=True))
        pooled = F.avg_pool2d(x, 3, 1, padding=1, count_include_pad=False)
        y = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(pooled)], 1)
        y = F.avg_pool2d(F.relu(y), 3, 2, padding=1)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class Fire(nn.Module):
    def __init__(self, cin, squeeze, expand):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.e1 = nn.Conv2d(squeeze, expand, 1)
        self.e3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x):
        s = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.e1(s)), F.relu(self.e3(s))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1: fire modules (concat of 1x1 and 3x3), ceil-mode pools, global avg pool."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.fire1, self.fire2 = Fire(8, 4, 8), Fire(16, 4, 8)
        self.final = nn.Conv2d(16, 10, 1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.fire2(self.fire1(x)), 3, 2, ceil_mode=True)
        x = F.dropout(x, 0.5, self.training)
        return torch.flatten(F.adaptive_avg_pool2d(F.relu(self.final(x)), 1), 1)


class DenseNet(nn.Module):
    """DenseNet: BN-ReLU-conv layers each concatenated to all before, transition avg pool."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.layers = nn.ModuleList()
        c = 8
        for _ in range(3):
            self.layers.append(
                nn.Sequential(
                    nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, 4, 3, padding=1, bias=False)
                )
            )
            c += 4
        self.trans = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, 8, 1, bias=False))
        self.norm = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        for layer in self.layers:
            x = torch.cat([x, layer(x)], 1)
        x = F.avg_pool2d(self.trans(x), 2)
        x = F.relu(self.norm(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


class ShuffleNetV1(nn.Module):
    """ShuffleNet v1: grouped 1x1 convs, channel shuffle, depthwise 3x3, avg-pool shortcut."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 12, 3, stride=2, padding=1)
        self.g1 = nn.Conv2d(12, 12, 1, groups=3, bias=False)
        self.bn1 = nn.BatchNorm2d(12)
        self.dw = nn.Conv2d(12, 12, 3, stride=2, padding=1, groups=12, bias=False)
        self.bn2 = nn.BatchNorm2d(12)
        self.g2 = nn.Conv2d(12, 12, 1, groups=3, bias=False)
        self.bn3 = nn.BatchNorm2d(12)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = channel_shuffle(F.relu(self.bn1(self.g1(x))), 3)
        y = self.bn3(self.g2(self.bn2(self.dw(y))))
        short = F.avg_pool2d(x, 3, 2, 1)
        return F.relu(torch.cat([short, y], 1))


class ShuffleNetV2(nn.Module):
    """ShuffleNet v2: channel split (Split / chunk), branch, concat, channel shuffle."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.branch = nn.Sequential(
            nn.Conv2d(8, 8, 1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
            nn.BatchNorm2d(8),
            nn.Conv2d(8, 8, 1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
        )
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        a, b = x.chunk(2, dim=1)
        x = channel_shuffle(torch.cat([a, self.branch(b)], 1), 2)
        return self.fc(x.mean([2, 3]))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r, gate):
        super().__init__()
        self.fc1, self.fc2, self.gate = nn.Conv2d(c, r, 1), nn.Conv2d(r, c, 1), gate

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.fc2(F.relu(self.fc1(s))))


class MobileNetV3(nn.Module):
    """MobileNet v1/v2/v3: depthwise separable convs, inverted residual, ReLU6, hard-swish,
    hard-sigmoid squeeze-excite (GlobalAveragePool, Mul broadcast)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8))
        self.expand = nn.Sequential(nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.dw = nn.Sequential(
            nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False), nn.BatchNorm2d(16)
        )
        self.se = SqueezeExcite(16, 4, nn.Hardsigmoid())
        self.project = nn.Sequential(nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8))
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        x = F.hardswish(self.stem(x))
        y = F.relu6(self.expand(x))
        y = self.project(self.se(F.hardswish(self.dw(y))))
        x = x + y
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class EfficientNet(nn.Module):
    """EfficientNet-B0 / lite: SiLU (x * sigmoid(x)), SE with SiLU, depthwise 5x5 stride 2 with
    asymmetric (TF "same") padding as an explicit F.pad before the conv."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8))
        self.dw = nn.Sequential(nn.Conv2d(8, 8, 5, 2, 0, groups=8, bias=False), nn.BatchNorm2d(8))
        self.se = SqueezeExcite(8, 2, torch.sigmoid)
        self.project = nn.Sequential(nn.Conv2d(8, 12, 1, bias=False), nn.BatchNorm2d(12))
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x * torch.sigmoid(x)
        x = F.silu(self.dw(F.pad(x, (1, 2, 1, 2))))
        x = self.project(self.se(x))
        return self.fc(x.mean([2, 3]))


class ResNetV2(nn.Module):
    """ResNet v1 (post-activation, projection shortcut) and v2 (pre-activation) blocks."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
        self.bn0 = nn.BatchNorm2d(8)
        self.c1, self.b1 = nn.Conv2d(8, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16)
        self.c2, self.b2 = nn.Conv2d(16, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
        self.short = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
        self.pre = nn.BatchNorm2d(16)
        self.c3 = nn.Conv2d(16, 16, 3, 1, 1, bias=False)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn0(self.stem(x))), 3, 2, 1)
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        x = F.relu(y + self.short(x))
        x = x + self.c3(F.relu(self.pre(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class SuperResolution(nn.Module):
    """The zoo's super-resolution-10: convs and a PixelShuffle (DepthToSpace, CRD mode)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 5, padding=2)
        self.c2 = nn.Conv2d(8, 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):
        return self.shuffle(self.c2(torch.tanh(self.c1(x))))


class StyleTransfer(nn.Module):
    """fast-neural-style: reflection Pad, InstanceNormalization, nearest Upsample, residual."""

    def __init__(self):
        super().__init__()
        self.c1, self.n1 = nn.Conv2d(3, 8, 3, 2), nn.InstanceNorm2d(8, affine=True)
        self.c2, self.n2 = nn.Conv2d(8, 8, 3), nn.InstanceNorm2d(8, affine=True)
        self.c3 = nn.Conv2d(8, 3, 3)

    def forward(self, x):
        x = F.relu(self.n1(self.c1(F.pad(x, (1, 1, 1, 1), mode="reflect"))))
        x = x + self.n2(self.c2(F.pad(x, (1, 1, 1, 1), mode="reflect")))
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.c3(F.pad(x, (1, 1, 1, 1), mode="reflect"))


class DeepLab(nn.Module):
    """FCN / DeepLab: dilated convs (ASPP branches), bilinear resize back to the input."""

    def __init__(self, align_corners):
        super().__init__()
        self.align = align_corners
        self.backbone = nn.Conv2d(3, 8, 3, 2, 1)
        self.a1 = nn.Conv2d(8, 4, 1)
        self.a2 = nn.Conv2d(8, 4, 3, padding=2, dilation=2)
        self.a3 = nn.Conv2d(8, 4, 3, padding=3, dilation=3)
        self.head = nn.Conv2d(12, 5, 1)

    def forward(self, x):
        size = x.shape[-2:]
        f = F.relu(self.backbone(x))
        y = self.head(F.relu(torch.cat([self.a1(f), self.a2(f), self.a3(f)], 1)))
        return F.interpolate(y, size=size, mode="bilinear", align_corners=self.align)


class TinyYolo(nn.Module):
    """YOLOv3-tiny / YOLOv2: LeakyReLU(0.1), MaxPool stride 1 with (asymmetric) zero pad,
    Upsample, route Concat, two detection heads."""

    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8)
        self.c2, self.b2 = nn.Conv2d(8, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
        self.head1 = nn.Conv2d(16, 9, 1)
        self.lat = nn.Conv2d(16, 8, 1)
        self.head2 = nn.Conv2d(16, 9, 1)

    def forward(self, x):
        x = F.max_pool2d(F.leaky_relu(self.b1(self.c1(x)), 0.1), 2, 2)
        route = F.leaky_relu(self.b2(self.c2(x)), 0.1)
        y = F.max_pool2d(route, 2, 2)
        y = F.max_pool2d(F.pad(y, (0, 1, 0, 1)), 2, 1)  # the darknet stride-1 pool
        up = F.interpolate(F.leaky_relu(self.lat(y), 0.1), scale_factor=2, mode="nearest")
        return self.head1(y), self.head2(torch.cat([up, route[:, :8]], 1))


class UNet(nn.Module):
    """U-Net: encoder/decoder, transposed conv up-sampling, skip concat, sigmoid mask."""

    def __init__(self):
        super().__init__()
        self.e1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.e2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.d1 = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        a = self.e1(x)
        b = self.e2(F.max_pool2d(a, 2))
        return torch.sigmoid(self.out(self.d1(torch.cat([self.up(b), a], 1))))


class ArcFace(nn.Module):
    """ArcFace (ResNet-100 IR): PReLU, BN on the conv output, Flatten + Gemm, BatchNorm1d of
    the embedding, L2 normalisation."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8)
        self.prelu = nn.PReLU(8)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 4 * 4, 16)
        self.features = nn.BatchNorm1d(16)

    def forward(self, x):
        x = self.bn2(self.prelu(self.bn(self.conv(x))))
        x = F.max_pool2d(x, 2)
        emb = self.features(self.fc(torch.flatten(x, 1)))
        return emb / emb.norm(dim=1, keepdim=True)


class FerPlus(nn.Module):
    """emotion-ferplus / MNIST: input scaled by a constant Div, Reshape to a constant shape."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 5, padding=2)
        self.c2 = nn.Conv2d(4, 8, 5, padding=2)
        self.fc = nn.Linear(8 * 4 * 4, 8)

    def forward(self, x):
        x = (x - 128.0) / 255.0
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.fc(x.reshape(1, 8 * 4 * 4))


class ViT(nn.Module):
    """ViT / DeiT: patch conv, class token Concat, position add, LayerNorm, attention, GELU
    (exported as Erf), Gather of the class token."""

    def __init__(self, dim=16, heads=2):
        super().__init__()
        self.heads = heads
        self.patch = nn.Conv2d(3, dim, 4, 4)
        self.cls = nn.Parameter(torch.randn(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 5, dim))
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 32), nn.GELU(), nn.Linear(32, dim))
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, self.heads, d // self.heads).unbind(2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        att = F.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, -1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        x = x + self.mlp(self.ln2(x))
        return self.head(self.ln3(x)[:, 0])


class ConvNeXt(nn.Module):
    """ConvNeXt block: depthwise 7x7, permute to channels-last, LayerNorm, MLP with GELU,
    layer scale (gamma * x), permute back, residual; patchify stem with LayerNorm."""

    def __init__(self, dim=8):
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 2, 2)
        self.stem_ln = nn.LayerNorm(dim)
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.pw1, self.pw2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 0.5))
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.stem(x)
        x = self.stem_ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        y = self.ln(self.dw(x).permute(0, 2, 3, 1))
        y = self.gamma * self.pw2(F.gelu(self.pw1(y)))
        x = x + y.permute(0, 3, 1, 2)
        return self.head(x.mean([-2, -1]))


# --- hand-written old-opset graphs (what torch no longer writes) ---------------------------


def _random(seed: int):
    """Weights of a hand-written model: the same for every call (twins compare values)."""
    rng = np.random.default_rng(seed)
    return lambda *shape: rng.standard_normal(shape).astype(np.float32) * 0.3


def _init(name: str, array: np.ndarray):
    return numpy_helper.from_array(np.asarray(array, np.float32), name)


def _model(nodes, inputs, outputs, inits, opset: int, ir_version: int = 3):
    """IR version 3, as the zoo's old files: every initializer is also a graph input."""
    weights = [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in inits]
    graph = helper.make_graph(nodes, "zoo", inputs + weights, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model


def resnet_old(opset: int = 7, batch: str | int = "N"):
    """A ResNet v1 stem as the zoo's opset-6/7 exports have it: BatchNormalization with
    `spatial=1` (and `is_test=1` at opset 6), opset-6 Gemm with `broadcast=1`, Sum of the
    shortcut, GlobalAveragePool, Flatten, a dynamic batch dim."""
    old = {"is_test": 1} if opset < 7 else {}
    c, r = 8, _random(7)
    inits = [
        _init("w0", r(c, 3, 3, 3)),
        _init("w1", r(c, c, 3, 3)),
        _init("fc_w", r(10, c)),
        _init("fc_b", r(10)),
    ]
    for p in ("bn0", "bn1"):
        inits += [
            _init(f"{p}_s", 1 + r(c)),
            _init(f"{p}_b", r(c)),
            _init(f"{p}_m", r(c)),
            _init(f"{p}_v", np.abs(1 + r(c))),
        ]
    bn = lambda p, x, y: helper.make_node(  # noqa: E731
        "BatchNormalization",
        [x, f"{p}_s", f"{p}_b", f"{p}_m", f"{p}_v"],
        [y],
        epsilon=1e-5,
        momentum=0.9,
        spatial=1,
        **old,
    )
    gemm = {"broadcast": 1} if opset < 7 else {}
    nodes = [
        helper.make_node("Conv", ["data", "w0"], ["c0"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        bn("bn0", "c0", "b0"),
        helper.make_node("Relu", ["b0"], ["r0"]),
        helper.make_node(
            "MaxPool", ["r0"], ["p0"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
        ),
        helper.make_node("Conv", ["p0", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        bn("bn1", "c1", "b1"),
        helper.make_node("Sum", ["b1", "p0"], ["s1"]),
        helper.make_node("Relu", ["s1"], ["r1"]),
        helper.make_node("GlobalAveragePool", ["r1"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], transB=1, **gemm),
        helper.make_node("Softmax", ["logits"], ["prob"], axis=1),
    ]
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, [batch, 3, 12, 12])]
    outputs = [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [batch, 10])]
    return _model(nodes, inputs, outputs, inits, opset=opset)


def yolo_opset8():
    """YOLOv2-style opset-8 graph: Upsample with `scales` as an attribute (opset 7-8),
    MaxPool without `dilations` (stride 1, pads), LeakyRelu, Concat, opset-8 Reshape of a
    constant shape and Mul/Add broadcast of constants."""
    r = _random(8)
    inits = [
        _init("w", r(4, 3, 3, 3)),
        _init("b", r(4)),
        _init("scale", np.full((1, 4, 1, 1), 0.5)),
        numpy_helper.from_array(np.array([1, 8, 8, 8], np.int64), "shape"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("LeakyRelu", ["c"], ["l"], alpha=0.1),
        helper.make_node(
            "MaxPool", ["l"], ["p"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]
        ),
        helper.make_node(
            "MaxPool", ["p"], ["p1"], kernel_shape=[2, 2], strides=[1, 1], pads=[0, 0, 1, 1]
        ),
        helper.make_node("Mul", ["p1", "scale"], ["m"]),
        helper.make_node("Upsample", ["m"], ["u"], mode="nearest", scales=[1.0, 1.0, 2.0, 2.0]),
        helper.make_node("Concat", ["u", "l"], ["cat"], axis=1),
        helper.make_node("Reshape", ["cat", "shape"], ["out"]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])]
    outputs = [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 8, 8, 8])]
    return _model(nodes, inputs, outputs, inits, opset=8)


def squeezenet_opset7():
    """SqueezeNet 1.0 as opset-7 writes it: Dropout with `is_test`-free opset-7 form, a
    MaxPool of ceil-free valid padding, AveragePool of the whole map (kernel = map size)."""
    r = _random(9)
    inits = [
        _init("w0", r(8, 3, 3, 3)),
        _init("b0", r(8)),
        _init("sq", r(4, 8, 1, 1)),
        _init("e1", r(6, 4, 1, 1)),
        _init("e3", r(6, 4, 3, 3)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("MaxPool", ["r0"], ["p0"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Conv", ["p0", "sq"], ["s"], kernel_shape=[1, 1]),
        helper.make_node("Relu", ["s"], ["rs"]),
        helper.make_node("Conv", ["rs", "e1"], ["x1"], kernel_shape=[1, 1]),
        helper.make_node("Conv", ["rs", "e3"], ["x3"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["x1", "x3"], ["cat"], axis=1),
        helper.make_node("Relu", ["cat"], ["rc"]),
        helper.make_node("Dropout", ["rc"], ["d"], ratio=0.5),
        helper.make_node("AveragePool", ["d"], ["a"], kernel_shape=[3, 3]),
        helper.make_node("Softmax", ["a"], ["prob"]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 15, 15])]
    outputs = [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 12, 1, 1])]
    return _model(nodes, inputs, outputs, inits, opset=7)


def tiny_yolov2(opset: int):
    """The zoo's tiny-YOLOv2 (opsets 1, 7, 8): ImageScaler of the 0-255 image, conv without
    bias, BatchNormalization (opset 1: `consumed_inputs`, `is_test`), LeakyRelu 0.1,
    max pools (the last one stride 1 with SAME_UPPER auto_pad), a biased 1x1 head."""
    r = _random(10)
    inits = [_init("w1", r(8, 3, 3, 3)), _init("w2", r(8, 8, 3, 3))]
    inits += [_init("head_w", r(5, 8, 1, 1)), _init("head_b", r(5))]
    inits += [_init("s", 1 + r(8)), _init("b", r(8)), _init("m", r(8))]
    inits += [_init("v", np.abs(1 + r(8)))]
    bn = {"consumed_inputs": [0, 0, 0, 1, 1], "is_test": 1} if opset < 6 else {}
    leaky = {"consumed_inputs": [0]} if opset < 6 else {}
    nodes = [
        helper.make_node(
            "ImageScaler", ["image"], ["scaled"], scale=1 / 255, bias=[-0.5, -0.4, -0.3]
        ),
        helper.make_node("Conv", ["scaled", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("BatchNormalization", ["c1", "s", "b", "m", "v"], ["n1"], **bn),
        helper.make_node("LeakyRelu", ["n1"], ["l1"], alpha=0.1, **leaky),
        helper.make_node("MaxPool", ["l1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("LeakyRelu", ["c2"], ["l2"], alpha=0.1, **leaky),
        helper.make_node(
            "MaxPool", ["l2"], ["p2"], kernel_shape=[2, 2], strides=[1, 1], auto_pad="SAME_UPPER"
        ),
        helper.make_node("Conv", ["p2", "head_w", "head_b"], ["grid"], kernel_shape=[1, 1]),
    ]
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])]
    outputs = [helper.make_tensor_value_info("grid", TensorProto.FLOAT, [1, 5, 8, 8])]
    return _model(nodes, inputs, outputs, inits, opset=opset)


def caffenet_opset3(twin: bool = False):
    """A caffe2 export of CaffeNet at opset 3: biases added with `broadcast=1, axis=1`,
    LRN, Dropout with `is_test`, Reshape-1's `shape` attribute, Gemm with `broadcast=1`.
    `twin=True`: the same network at opset 8 (numpy broadcasting, Reshape of a tensor)."""
    r = _random(11)
    inits = [_init("w", r(6, 3, 5, 5)), _init("fc_w", r(4, 6 * 3 * 3)), _init("fc_b", r(4))]
    bias = r(6)
    inits.append(_init("conv_b", bias.reshape((6, 1, 1) if twin else (6,))))
    legacy = {} if twin else {"broadcast": 1}
    nodes = [
        helper.make_node("Conv", ["data", "w"], ["c"], kernel_shape=[5, 5], strides=[2, 2]),
        helper.make_node("Add", ["c", "conv_b"], ["cb"], **legacy, **({} if twin else {"axis": 1})),
        helper.make_node("Relu", ["cb"], ["r"]),
        helper.make_node("LRN", ["r"], ["n"], size=5, alpha=1e-4, beta=0.75),
        helper.make_node("MaxPool", ["n"], ["p"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Dropout", ["p"], ["d"], ratio=0.5, **({} if twin else {"is_test": 1})),
    ]
    if twin:
        inits.append(numpy_helper.from_array(np.array([1, 54], np.int64), "shape"))
        nodes.append(helper.make_node("Reshape", ["d", "shape"], ["flat"]))
    else:
        nodes.append(helper.make_node("Reshape", ["d"], ["flat"], shape=[1, 54]))
    nodes += [
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["fc"], transB=1, **legacy),
        helper.make_node("Softmax", ["fc"], ["prob"]),
    ]
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 17, 17])]
    outputs = [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 4])]
    return _model(nodes, inputs, outputs, inits, opset=8 if twin else 3)


class SegNet(nn.Module):
    """SegNet / ENet's encoder: max pool with indices (torch writes MaxPool's Indices output
    and a 1x1 MaxPool of the input's own indices to make them per plane). Torch 2.13 cannot
    export max_unpool2d; `segnet_unpool` writes the decoder's MaxUnpool by hand."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.dec = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        y, index = F.max_pool2d(self.enc(x), 3, 2, padding=1, return_indices=True)
        return self.dec(F.relu(y)), index


def segnet_unpool():
    """SegNet's pool / unpool pair at opset 11: MaxPool's Indices feed MaxUnpool."""
    r = _random(12)
    inits = [_init("w", r(4, 3, 3, 3)), _init("b", r(4))]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("MaxPool", ["c"], ["p", "i"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Relu", ["p"], ["r"]),
        helper.make_node("MaxUnpool", ["r", "i"], ["u"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])]
    outputs = [helper.make_tensor_value_info("u", TensorProto.FLOAT, [1, 4, 8, 8])]
    return _model(nodes, inputs, outputs, inits, opset=11, ir_version=6)
