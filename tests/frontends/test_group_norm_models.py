"""GroupNorm from torch and from ONNX, at the npu level, against onnxruntime: a diffusion
UNet's ResNet block (GroupNorm, SiLU, conv, twice, and the skip), exported the way
torch.onnx.export writes GroupNorm (InstanceNormalization between Reshapes, any opset) and
imported from torch directly, and ONNX's own GroupNormalization (opsets 18 and 21). Each
GroupNorm + SiLU must run as one `kernel.group_norm` on the npu."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import ge
from ge.frontends.onnx import import_onnx_model

torch = pytest.importorskip("torch")
from ge.testing.models import export_onnx  # noqa: E402

nn = torch.nn


class ResnetBlock(nn.Module):
    """Stable Diffusion's ResnetBlock2D without the time embedding."""

    def __init__(self, channels: int = 32, groups: int = 8) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(groups, channels), nn.GroupNorm(groups, channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        with torch.no_grad():
            for norm in (self.norm1, self.norm2):
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x):  # noqa: ANN001, ANN201
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return x + h


def _group_norm_kernels(profile: dict) -> list[dict]:
    return [k for k in profile["kernels"] if k["op"] == "kernel.group_norm"]


def _check_npu(compiled, feeds: dict, want: list[np.ndarray], norms: int) -> None:  # noqa: ANN001
    got = compiled.run(**feeds)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    kernels = compiled.last_profile["kernels"]
    found = _group_norm_kernels(compiled.last_profile)
    assert len(found) == norms and all(k["engine"] == "npu" for k in found), kernels
    assert not [k for k in kernels if k["op"] == "kernel.elementwise"], kernels


@pytest.mark.parametrize("opset", [11, 17, 21])
def test_exported_resnet_block_matches_onnxruntime(opset: int) -> None:
    torch.manual_seed(0)
    model = ResnetBlock().eval()
    x = torch.randn(2, 32, 12, 12)
    proto = export_onnx(model, [x], opset=opset, input_names=["x"])
    assert "InstanceNormalization" in {n.op_type for n in proto.graph.node}
    feeds = {"x": x.numpy()}
    want = ort.InferenceSession(proto.SerializeToString()).run(None, feeds)
    compiled = ge.compile(import_onnx_model(proto), level="npu", cache=False)
    _check_npu(compiled, feeds, want, norms=2)


def test_torch_import_of_the_block_matches_torch() -> None:
    torch.manual_seed(1)
    model = ResnetBlock(16, 4).eval()
    x = torch.randn(1, 16, 9, 9)
    with torch.no_grad():
        want = [model(x).numpy()]
    compiled = ge.compile(model, example_inputs=(x,), level="npu", cache=False)
    got = compiled.run(x.numpy())
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-4)
    assert len(_group_norm_kernels(compiled.last_profile)) == 2


@pytest.mark.parametrize(("opset", "per"), [(18, "group"), (21, "channel")])
def test_onnx_group_normalization_and_silu_on_the_npu(opset: int, per: str) -> None:
    """GroupNormalization then Mul(y, Sigmoid(y)); opset 18's scale and bias are per group,
    opset 21's per channel. (onnx.checker refuses opset 18's as deprecated, which onnxruntime
    still runs: the loader writes it as Reshape / InstanceNormalization / Reshape first,
    `repair.per_group_norms`, and recognize-group-norm makes that one op again.)"""
    channels, groups = 12, 3
    size = groups if per == "group" else channels
    rng = np.random.default_rng(0)
    scale = helper.make_tensor("s", TensorProto.FLOAT, [size], rng.uniform(0.5, 2, size))
    bias = helper.make_tensor("b", TensorProto.FLOAT, [size], rng.uniform(-1, 1, size))
    nodes = [
        helper.make_node("GroupNormalization", ["x", "s", "b"], ["n"], num_groups=groups),
        helper.make_node("Sigmoid", ["n"], ["g"]),
        helper.make_node("Mul", ["n", "g"], ["y"]),
    ]
    shape = [2, channels, 6, 7]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        initializer=[scale, bias],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    proto.ir_version = 10
    feeds = {"x": (rng.standard_normal(shape) * 3 + 1).astype(np.float32)}
    want = ort.InferenceSession(proto.SerializeToString()).run(None, feeds)
    compiled = ge.compile(import_onnx_model(proto), level="npu", cache=False)
    _check_npu(compiled, feeds, want, norms=1)
    assert _group_norm_kernels(compiled.last_profile)[0]["fused_from"][-1] == "ge.silu"


class Conv1dBlock(nn.Module):
    """A UNet1D / Diffusion Policy block (Conv1d, GroupNorm, SiLU) beside a style-transfer
    layer (Conv2d, InstanceNorm2d with affine, ReLU) and GroupNorm on (N, C) features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1d = nn.Conv1d(4, 16, 3, padding=1)
        self.norm1d = nn.GroupNorm(8, 16)
        self.conv2d = nn.Conv2d(3, 8, 3, padding=1)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.flat_norm = nn.GroupNorm(4, 16)

    def forward(self, seq, image):  # noqa: ANN001, ANN201
        h = nn.functional.silu(self.norm1d(self.conv1d(seq)))
        pooled = nn.functional.silu(self.flat_norm(h.mean(-1)))
        return h, pooled, torch.relu(self.inorm(self.conv2d(image)))


def test_conv1d_flat_and_instance_norms_run_as_one_kernel_each() -> None:
    """The GroupNorm after a Conv1d (its 4-D view merged into the grouping reshape), the one
    on (N, C) and the InstanceNorm + ReLU each become one kernel.group_norm with the
    activation: no elementwise kernel is left."""
    torch.manual_seed(2)
    model = Conv1dBlock().eval()
    with torch.no_grad():
        for norm in (model.norm1d, model.inorm, model.flat_norm):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    seq, image = torch.randn(2, 4, 24), torch.randn(1, 3, 10, 10)
    proto = export_onnx(model, [seq, image], input_names=["seq", "image"],
                        output_names=["h", "pooled", "styled"])  # fmt: skip
    feeds = {"seq": seq.numpy(), "image": image.numpy()}
    want = ort.InferenceSession(proto.SerializeToString()).run(None, feeds)
    compiled = ge.compile(import_onnx_model(proto), level="npu", cache=False)
    _check_npu(compiled, feeds, want, norms=3)
    activations = [k["fused_from"][-1] for k in _group_norm_kernels(compiled.last_profile)]
    assert sorted(activations) == ["ge.relu", "ge.silu", "ge.silu"]


def test_opset_18_group_normalization_with_weights_as_inputs() -> None:
    """GroupNormalization-18 whose per-group scale and bias are graph inputs: written as the
    instance norm between reshapes, it computes what onnxruntime does."""
    shape, groups = [1, 6, 4, 5], 3
    node = helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=groups)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, d)
         for n, d in (("x", shape), ("s", [groups]), ("b", [groups]))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )  # fmt: skip
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    proto.ir_version = 10
    rng = np.random.default_rng(1)
    feeds = {"x": rng.standard_normal(shape).astype(np.float32) * 2,
             "s": rng.uniform(0.5, 2, groups).astype(np.float32),
             "b": rng.uniform(-1, 1, groups).astype(np.float32)}  # fmt: skip
    want = ort.InferenceSession(proto.SerializeToString()).run(None, feeds)
    got = ge.compile(import_onnx_model(proto), level="npu", cache=False).run(**feeds)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)
