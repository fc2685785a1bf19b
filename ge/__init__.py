"""gedialects for users: compile and run models, the commands, and the testing tools.

The public names load lazily, so `import ge` stays cheap for the commands:

    compiled = ge.compile("model.onnx", target="ascend910a")
    y = compiled(x)
    with ge.profile() as prof:
        compiled(x)
    print(prof.key_averages().table())
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "compile": ("ge.api", "compile"),
    "CompiledModel": ("ge.api", "CompiledModel"),
    "profile": ("ge.profiler", "profile"),
    "CompileCache": ("runtime.compile_cache", "CompileCache"),
    "DeviceArray": ("runtime.device", "DeviceArray"),
    "torch_backend": ("ge.frontends.torch.backend", "torch_backend"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'ge' has no attribute '{name}'")


def to_device(array: Any) -> Any:
    """Copy an array to the modeled device once; models called with it copy nothing."""
    from runtime.device import DeviceArray

    return DeviceArray(array)


def memory_allocated() -> int:
    """Bytes currently allocated on the modeled device."""
    from runtime.device import DEVICE

    return DEVICE.allocated


def max_memory_allocated() -> int:
    """Peak bytes allocated on the modeled device since start or the last reset."""
    from runtime.device import DEVICE

    return DEVICE.peak


def reset_peak_memory_stats() -> None:
    from runtime.device import DEVICE

    DEVICE.reset_peak()


def transfer_stats() -> Any:
    """Host<->device bytes and copies counted so far (inputs kept on device are skipped)."""
    from runtime.device import DEVICE

    return DEVICE.transfers
