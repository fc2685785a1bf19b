"""The modeled device's memory and host<->device transfers.

Counts what a real device would hold (weights of loaded models, arrays kept on the
device, the working arena of a running plan) and what crosses the host link. Figures are
modeled, not measured: transfer time is bytes / the target's host bandwidth. The Python
API exposes them the way PyTorch users expect (`ge.memory_allocated()` and friends).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

HOST_LINK_BYTES_PER_SECOND = 16e9
"""Host<->device bandwidth used when a target does not say (PCIe 4.0 x16, one way)."""


@dataclass
class TransferStats:
    host_to_device_bytes: int = 0
    device_to_host_bytes: int = 0
    host_to_device_count: int = 0
    device_to_host_count: int = 0
    skipped_bytes: int = 0
    """Bytes of inputs that were already on the device, so were not copied again."""

    def seconds(self, bandwidth: float = HOST_LINK_BYTES_PER_SECOND) -> float:
        return (self.host_to_device_bytes + self.device_to_host_bytes) / bandwidth


@dataclass
class DeviceMemory:
    """Bytes allocated on the modeled device, with a resettable peak."""

    allocated: int = 0
    peak: int = 0
    transfers: TransferStats = field(default_factory=TransferStats)
    _blocks: dict[int, int] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=itertools.count)

    def allocate(self, nbytes: int) -> int:
        handle = next(self._ids)
        self._blocks[handle] = int(nbytes)
        self.allocated += int(nbytes)
        self.peak = max(self.peak, self.allocated)
        return handle

    def free(self, handle: int) -> None:
        self.allocated -= self._blocks.pop(handle, 0)

    def transient(self, nbytes: int) -> None:
        """A working set that exists only during a run (e.g. the planned arena)."""
        self.peak = max(self.peak, self.allocated + int(nbytes))

    def reset_peak(self) -> None:
        self.peak = self.allocated


DEVICE = DeviceMemory()
"""The one modeled device of this process."""


class DeviceArray:
    """An array that lives on the modeled device: passing it to a model copies nothing."""

    def __init__(self, array: np.ndarray, device: DeviceMemory = DEVICE):
        self.array = np.asarray(array, order="C")  # ascontiguousarray makes rank 0 rank 1
        self._device = device
        self._handle = device.allocate(self.array.nbytes)
        device.transfers.host_to_device_bytes += self.array.nbytes
        device.transfers.host_to_device_count += 1

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def numpy(self) -> np.ndarray:
        """Copy back to the host (counted as a device-to-host transfer)."""
        self._device.transfers.device_to_host_bytes += self.array.nbytes
        self._device.transfers.device_to_host_count += 1
        return self.array.copy()

    def __del__(self) -> None:
        try:
            self._device.free(self._handle)
        except Exception:  # interpreter shutdown
            pass


def to_host_inputs(values: list, device: DeviceMemory = DEVICE) -> list[np.ndarray]:
    """Host arrays for a run, counting the copies a device run would need."""
    arrays = []
    for value in values:
        if isinstance(value, DeviceArray):
            device.transfers.skipped_bytes += value.array.nbytes
            arrays.append(value.array)
            continue
        array = np.asarray(value)
        device.transfers.host_to_device_bytes += array.nbytes
        device.transfers.host_to_device_count += 1
        arrays.append(array)
    return arrays


def count_outputs(outputs: list[np.ndarray], device: DeviceMemory = DEVICE) -> None:
    for array in outputs:
        device.transfers.device_to_host_bytes += array.nbytes
        device.transfers.device_to_host_count += 1
