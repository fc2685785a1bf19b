"""Save and load modules as text IR plus a side-car weights file.

Large weights never go into text IR: the module is printed with every constant elided to
its content digest (`elided<"sha256:…">`), and the weights are stored in an `.npz` keyed
by that digest (numpy's format, read with `allow_pickle=False`). Loading parses the text
and puts each constant's bytes back, bit-exactly. The compile cache stores modules this
way, and it is the form to use for any IR that must be read back from disk.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp, StringAttr, TensorType
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError

from gedialects.errors import GeError
from gedialects.ge.constant import (
    ConstantOp,
    constant_elision,
    data_digest,
    dense_from_numpy,
    dense_to_numpy,
)
from gedialects.ge.types import element_of, from_records, shape_of, to_numpy_dtype
from gedialects.npu.buffers import HbmConstantOp


class SerializationError(GeError):
    """A saved module or its weights could not be read back."""


def _constants(module: Operation) -> Iterator[tuple[Operation, TensorType]]:
    """The ops whose data prints elided (`ge.constant`, `npu.hbm_constant`), each with the
    tensor type of its data."""
    for op in module.walk():
        if isinstance(op, ConstantOp):
            yield op, op.output.type
        elif isinstance(op, HbmConstantOp):
            yield op, op.value_type


def module_to_text_and_weights(module: ModuleOp) -> tuple[str, dict[str, np.ndarray]]:
    """The module's text with all constants elided, and its weights by digest."""
    with constant_elision(0):
        text = str(module)
    return text, elided_weights(module, 0)


def elided_weights(module: ModuleOp, limit: int) -> dict[str, np.ndarray]:
    """The weights, by digest, of the constants that print elided above `limit` elements."""
    return {
        data_digest(op.value.data): dense_to_numpy(op.value)
        for op, _ in _constants(module)
        if isinstance(op.value, DenseIntOrFPElementsAttr) and len(op.value) > limit
    }


def write_weights(file: BinaryIO, weights: dict[str, np.ndarray]) -> None:
    """The weights as an npz archive (what `read_weights` reads) written to `file`."""
    np.savez(file, **{key.replace(":", "_"): value for key, value in weights.items()})


def read_weights(path: Path) -> dict[str, np.ndarray]:
    """The weights of an npz archive on disk, read member by member (no copy of the file)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key.replace("_", ":", 1): archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise SerializationError(f"the weights file is not a valid npz archive: {error}") from None


def module_from_text_and_weights(
    ctx: Context, text: str, weights: dict[str, np.ndarray], source: str = "<saved module>"
) -> ModuleOp:
    """Parse saved text IR and restore every elided constant from `weights`."""
    try:
        module = Parser(ctx, text, source).parse_module()
    except ParseError as error:
        raise SerializationError(f"{source}: the saved IR does not parse: {error.msg}") from None
    restore_weights(module, weights, source)
    module.verify()
    return module


def restore_weights(module: ModuleOp, weights: dict[str, np.ndarray], source: str) -> None:
    """Give every elided constant of `module` its bytes back from `weights` (by digest)."""
    for op, value_type in list(_constants(module)):
        if not isinstance(op.value, StringAttr):
            continue
        key = op.value.data
        if key not in weights:
            raise SerializationError(f"{source}: no weights saved for constant {key}")
        array = from_records(weights[key], to_numpy_dtype(element_of(value_type)))
        shape = tuple(shape_of(value_type))
        if array.shape != shape and array.size == math.prod(shape):
            # one digest names equal bytes: weights saved once for constants of two shapes
            # ([1, 2, 3] as (3,) and as (3, 1)) take the constant's own shape
            array = array.reshape(shape)
        attr = dense_from_numpy(array)  # its bytes are what the digest covers
        if data_digest(attr.data) != key:
            raise SerializationError(f"{source}: weights for {key} do not match their digest")
        if attr.type != value_type:
            raise SerializationError(f"{source}: weights for {key} have the wrong type")
        op.properties["value"] = attr


def sidecar_path(path: str | Path) -> Path:
    """Where the weights of the text IR at `path` are kept: `path` + `.weights.npz`."""
    return Path(f"{path}.weights.npz")


def restore_from_sidecar(module: ModuleOp, path: str | Path, source: str) -> None:
    """Restore `module`'s elided constants from the side-car of `path`, if there is one."""
    if sidecar_path(path).is_file():
        restore_weights(module, read_weights(sidecar_path(path)), source)


def save_module(module: ModuleOp, path: str | Path) -> None:
    """Write `path` (text IR) and its side-car weights beside it."""
    text, weights = module_to_text_and_weights(module)
    Path(path).write_text(text)
    with open(sidecar_path(path), "wb") as file:
        write_weights(file, weights)


def load_module(ctx: Context, path: str | Path) -> ModuleOp:
    weights = read_weights(sidecar_path(path)) if sidecar_path(path).is_file() else {}
    return module_from_text_and_weights(ctx, Path(path).read_text(), weights, str(path))
