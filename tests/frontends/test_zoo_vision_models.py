"""The ONNX model zoo's kinds of vision networks, small, through `ge-run` at the npu level
against onnxruntime (`zoo_vision_models.py` holds the models).

Each torch model is exported by the TorchScript exporter at the opset the zoo's copy has
(batch norm kept as a node), and again at the other opsets torch still writes (slow);
hand-written graphs carry what torch no longer writes (opset 1-9 attributes, ImageScaler,
IR version 3 files). Every run writes REPORT.json, whose keys are checked, and no kernel
may fall back to its reference semantics. Tolerance: rtol 1e-4, atol 1e-5 (f32 throughout;
the npu level keeps f32 in the cube's f32 mode).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

import zoo_vision_models as Z  # noqa: E402

from ge.cli.run import main as ge_run  # noqa: E402

REPORT_KEYS = {"target", "mode", "cache", "compile_seconds", "run_seconds", "outputs"}
REPORT_KEYS |= {"kernels", "memory", "makespan_cycles", "critical_path_cycles", "streams"}
KERNEL_KEYS = {"name", "op", "fused_from", "algorithm", "stream", "start_cycle", "cycles"}
KERNEL_KEYS |= {"roofline_cycles", "flops", "hbm_bytes_read", "hbm_bytes_written"}

# name: (model, input shape, the zoo's opset, the other opsets torch exports it at)
TORCH_CASES = {
    "alexnet": (Z.AlexNet, (1, 3, 32, 32), 9, (7, 11, 13, 17)),
    "vgg-bn": (Z.VGG, (1, 3, 16, 16), 12, (7, 9, 17)),
    "inception": (Z.Inception, (1, 3, 16, 16), 12, (7, 9, 17)),
    "squeezenet": (Z.SqueezeNet, (1, 3, 24, 24), 9, (7, 12, 17)),
    "densenet": (Z.DenseNet, (1, 3, 8, 8), 9, (7, 12, 17)),
    "shufflenet-v1": (Z.ShuffleNetV1, (1, 3, 16, 16), 9, (7, 12, 17)),
    "shufflenet-v2": (Z.ShuffleNetV2, (1, 3, 16, 16), 10, (7, 12, 17)),
    "mobilenet-v3": (Z.MobileNetV3, (1, 3, 16, 16), 12, (7, 9, 17)),
    "efficientnet": (Z.EfficientNet, (1, 3, 16, 16), 11, (7, 9, 17)),
    "resnet-v1v2": (Z.ResNetV2, (1, 3, 16, 16), 7, (9, 12, 17)),
    "super-resolution": (Z.SuperResolution, (1, 1, 8, 8), 10, (7, 12, 17)),
    "fast-neural-style": (Z.StyleTransfer, (1, 3, 12, 12), 9, (10, 12, 17)),
    "fcn-bilinear": (lambda: Z.DeepLab(False), (1, 3, 12, 12), 11, (9, 13, 17)),
    "deeplab-align-corners": (lambda: Z.DeepLab(True), (1, 3, 12, 12), 11, (13, 17)),
    "yolov3-tiny": (Z.TinyYolo, (1, 3, 16, 16), 10, (9, 12, 17)),
    "unet": (Z.UNet, (1, 3, 8, 8), 11, (7, 9, 17)),
    "arcface": (Z.ArcFace, (1, 3, 16, 16), 8, (7, 12, 17)),
    "emotion-ferplus": (Z.FerPlus, (1, 1, 16, 16), 8, (7, 12, 17)),
    "vit": (Z.ViT, (1, 3, 8, 8), 12, (9, 14, 17)),
    "convnext": (Z.ConvNeXt, (1, 3, 16, 16), 13, (9, 11, 17)),
    "segnet-encoder": (Z.SegNet, (1, 3, 8, 8), 11, (9, 13, 17)),
}
# What torch 2.13 refuses to export: Upsample / interpolate at opset 7 (style, fcn, yolo),
# bilinear align_corners before opset 11, expand at opset 7 (ViT), and Erf (GELU) at
# opset 7 (it writes a node onnxruntime rejects). Opsets 7 and 9 of the Inception model:
# onnxruntime rejects torch's ceil-mode max pool pads and its LRN's AveragePool, so those
# compare with torch itself.
TORCH_ONLY = {("inception", 7), ("inception", 9)}

FAST = [(name, case[2]) for name, case in TORCH_CASES.items()]
SLOW = [(name, opset) for name, case in TORCH_CASES.items() for opset in case[3]]


def torch_model(name: str):
    build, shape, _, _ = TORCH_CASES[name]
    torch.manual_seed(0)
    model = build().eval()
    for module in model.modules():  # statistics that are not the identity
        if isinstance(module, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    return model, x * 60 + 128 if name == "emotion-ferplus" else x


def export(model, x, path: Path, opset: int, dynamic: bool = False) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x,),
            str(path),
            opset_version=opset,
            dynamo=False,
            input_names=["x"],
            dynamic_axes={"x": {0: "batch_size"}} if dynamic else None,
            do_constant_folding=False,
        )
    return path


def onnxruntime_outputs(path: Path, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def run_npu(path: Path, tmp: Path, feeds: dict | None) -> tuple[dict, dict]:
    """ge-run at the npu level with --report; (outputs by name, the report)."""
    argv = [str(path), "--output", str(tmp / "out.npz"), "--report", str(tmp / "report.json")]
    if feeds is not None:
        np.savez(tmp / "in.npz", **feeds)
        argv += ["--inputs", str(tmp / "in.npz")]
    assert ge_run([*argv, "--no-cache"]) == 0
    got = np.load(tmp / "out.npz")
    return {name: got[name] for name in got.files}, json.loads((tmp / "report.json").read_text())


def check_report(report: dict, outputs: list[str]) -> None:
    assert REPORT_KEYS <= set(report)
    assert report["outputs"] == outputs
    assert report["kernels"], "no kernel ran"
    for kernel in report["kernels"]:
        assert KERNEL_KEYS <= set(kernel)
        assert kernel["cycles"] >= 0
        assert not kernel["estimated"], f"{kernel['name']} fell back: {kernel['fallback_reason']}"
    memory = report["memory"]
    assert memory["peak_bytes"] >= memory["lower_bound_bytes"]
    for buffer in memory["buffers"]:
        assert buffer["first_kernel"] <= buffer["last_kernel"] < len(report["kernels"])


def assert_outputs(got: dict, want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for (name, value), expected in zip(got.items(), want):
        assert value.shape == expected.shape, name
        np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-5, err_msg=name)


def check_torch_case(name: str, opset: int, tmp: Path) -> None:
    model, x = torch_model(name)
    path = export(model, x, tmp / f"{name}-{opset}.onnx", opset)
    feeds = {"x": x.numpy()}
    if (name, opset) in TORCH_ONLY:
        with pytest.raises(Exception, match="ONNXRuntimeError"):
            onnxruntime_outputs(path, feeds)
        with torch.no_grad():
            want = [model(x).numpy()]
    else:
        want = onnxruntime_outputs(path, feeds)
    got, report = run_npu(path, tmp, feeds)
    assert_outputs(got, want)
    check_report(report, list(got))


@pytest.mark.parametrize("name, opset", FAST, ids=[f"{n}-opset{o}" for n, o in FAST])
def test_zoo_vision_model_at_its_zoo_opset(name: str, opset: int, tmp_path: Path):
    check_torch_case(name, opset, tmp_path)


@pytest.mark.slow
@pytest.mark.sweep  # the opset sweep; `-m 'not sweep'` runs each model once
@pytest.mark.parametrize("name, opset", SLOW, ids=[f"{n}-opset{o}" for n, o in SLOW])
def test_zoo_vision_model_at_other_opsets(name: str, opset: int, tmp_path: Path):
    check_torch_case(name, opset, tmp_path)


HAND_CASES = {
    "resnet-opset7-spatial-bn": lambda: Z.resnet_old(7),
    "resnet-opset6-gemm-broadcast": lambda: Z.resnet_old(6),
    "yolov2-opset8-upsample-attr": Z.yolo_opset8,
    "squeezenet-opset7": Z.squeezenet_opset7,
    "tiny-yolov2-opset8-image-scaler": lambda: Z.tiny_yolov2(8),
    "tiny-yolov2-opset1-image-scaler": lambda: Z.tiny_yolov2(1),
    "caffenet-opset3-legacy-broadcast": Z.caffenet_opset3,
    "segnet-opset11-max-unpool": Z.segnet_unpool,
}
# onnxruntime runs opsets >= 7 only (BatchNormalization-6, ...): the opset-6 ResNet and the
# opset-1/3 graphs compare with their opset-7/8 twins (same weights, same values).
TWINS = {
    "resnet-opset6-gemm-broadcast": lambda: Z.resnet_old(7),
    "tiny-yolov2-opset1-image-scaler": lambda: Z.tiny_yolov2(8),
    "caffenet-opset3-legacy-broadcast": lambda: Z.caffenet_opset3(twin=True),
}


@pytest.mark.parametrize("name", list(HAND_CASES))
def test_hand_written_old_opset_model(name: str, tmp_path: Path):
    model = HAND_CASES[name]()
    onnx.checker.check_model(model)
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    info = model.graph.input[0]
    shape = [d.dim_value or 1 for d in info.type.tensor_type.shape.dim]
    feeds = {info.name: np.random.default_rng(2).standard_normal(shape).astype(np.float32)}
    reference = path
    if name in TWINS:
        reference = tmp_path / "twin.onnx"
        onnx.save(TWINS[name](), reference)
    want = onnxruntime_outputs(reference, feeds)
    got, report = run_npu(path, tmp_path, feeds)
    assert_outputs(got, want)
    check_report(report, list(got))


def test_dynamic_batch_of_an_old_zoo_file(tmp_path: Path):
    """dim_param 'N' (as the zoo's files): batch 1 without --inputs, batch 2 given."""
    path = tmp_path / "resnet.onnx"
    onnx.save(Z.resnet_old(7, batch="N"), path)
    got, report = run_npu(path, tmp_path, None)
    assert got["prob"].shape == (1, 10)
    check_report(report, ["prob"])
    x = np.random.default_rng(3).standard_normal((2, 3, 12, 12)).astype(np.float32)
    got, report = run_npu(path, tmp_path, {"data": x})
    assert_outputs(got, onnxruntime_outputs(path, {"data": x}))
    check_report(report, ["prob"])


DYNAMIC = [("mobilenet-v3", 12), ("vit", 14), ("fcn-bilinear", 11), ("shufflenet-v2", 10)]


@pytest.mark.parametrize("name, opset", DYNAMIC, ids=[f"{n}-opset{o}" for n, o in DYNAMIC])
def test_dynamic_batch_of_a_torch_export(name: str, opset: int, tmp_path: Path):
    """dynamic_axes 'batch_size': the Shape/Gather/Concat of the batch dim follow the input."""
    model, x = torch_model(name)
    path = export(model, x, tmp_path / "model.onnx", opset, dynamic=True)
    assert onnx.load(path).graph.input[0].type.tensor_type.shape.dim[0].dim_param
    got, report = run_npu(path, tmp_path, None)
    assert next(iter(got.values())).shape[0] == 1
    check_report(report, list(got))
    x2 = np.random.default_rng(4).standard_normal((2, *x.shape[1:])).astype(np.float32)
    got, report = run_npu(path, tmp_path, {"x": x2})
    assert_outputs(got, onnxruntime_outputs(path, {"x": x2}))
    check_report(report, list(got))


GEARED = [("vit", 12), ("shufflenet-v1", 9), ("mobilenet-v3", 12), ("yolov3-tiny", 10)]


@pytest.mark.parametrize("name, opset", GEARED, ids=[n for n, _ in GEARED])
def test_shape_gears_serve_a_torch_export(name: str, opset: int, tmp_path: Path):
    """ge.compile(dynamic_batch=[1, 4]): ViT's class token expanded to the batch (a constant
    of alike rows joined to the patches), ShuffleNet's channel shuffle, SE blocks and YOLO's
    upsampling; batch 3 pads to gear 4 and 5 runs eagerly, equal to onnxruntime."""
    import ge

    model, x = torch_model(name)
    path = export(model, x, tmp_path / "model.onnx", opset, dynamic=True)
    compiled = ge.compile(onnx.load(path), dynamic_batch=[1, 4], cache=False)
    for batch in (3, 5):
        xb = np.random.default_rng(batch).standard_normal((batch, *x.shape[1:]))
        feeds = {"x": xb.astype(np.float32)}
        got = compiled(**feeds)
        got = got if isinstance(got, list | tuple) else [got]
        assert_outputs(dict(enumerate(got)), onnxruntime_outputs(path, feeds))


def test_shape_gears_refuse_a_model_fixed_to_one_sample(tmp_path: Path):
    """emotion-ferplus flattens with view(1, -1): its graph has no batch of 4."""
    import ge
    from ge.gears import GearError

    model, x = torch_model("emotion-ferplus")
    path = export(model, x, tmp_path / "model.onnx", 8, dynamic=True)
    with pytest.raises(GearError, match="at batch 4: .*node '/Reshape'"):
        ge.compile(onnx.load(path), dynamic_batch=[1, 4], cache=False)
