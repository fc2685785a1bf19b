"""Model inputs and outputs as .npz files for `ge-run` (never pickled), and seeded random inputs.

Random inputs follow the model's signature: floats standard normal, integers small and
non-negative (0 to 3, and below the extent of the axis where an input indexes a `ge.gather`
or `ge.scatter`), booleans fair coins.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from xdsl.dialects import func
from xdsl.ir import SSAValue

from gedialects.errors import FrontendError, InterpretationError
from gedialects.ge.ops import CastOp, GatherOp, ReshapeOp, ScatterOp
from gedialects.ge.types import is_integer_dtype, shape_of
from gedialects.interpreter import array_signature, bind_inputs, input_names


def _signature(fn: func.FuncOp) -> list[tuple[str, tuple[int, ...], np.dtype]]:
    """(name, shape, dtype) of each input: a tensor, or a device buffer (an npu program)."""
    types = fn.function_type.inputs.data
    return [(name, *array_signature(t)) for name, t in zip(input_names(fn), types)]


def _index_bound(value: SSAValue, default: int = 4) -> int:
    """Exclusive bound of random integers for `value`: in range of every gather or scatter it
    indexes, through the reshapes and casts between (ScatterND's and GatherND's rows)."""
    bound = default
    for use in value.uses:
        op = use.operation
        if isinstance(op, GatherOp | ScatterOp) and use.index == 1:
            data = shape_of(op.data.type)
            bound = min(bound, data[op.get_int("axis") % len(data)])
        elif isinstance(op, ReshapeOp | CastOp):
            bound = min(bound, _index_bound(op.results[0], default))
    return max(bound, 1)


def random_inputs(fn: func.FuncOp, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random arrays of the shapes and dtypes `fn` takes, by input name."""
    rng = np.random.default_rng(seed)
    inputs = {}
    args = fn.body.block.args
    for arg, (name, shape, dtype) in zip(args, _signature(fn)):
        if dtype == np.bool_:
            array = rng.random(shape) < 0.5
        elif is_integer_dtype(dtype):
            array = rng.integers(0, _index_bound(arg), shape)
        else:
            array = rng.standard_normal(shape)
        inputs[name] = np.asarray(array).astype(dtype)
    return inputs


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file by name; refuses anything that would need unpickling."""
    if not path.is_file():
        raise FrontendError(f"inputs file '{path}' does not exist")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise FrontendError(f"inputs file '{path}' is an .npy array, not an .npz archive")
        with data:
            return {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "pickled" in reason:
            reason = "it would have to be unpickled, which ge-run never does"
        raise FrontendError(f"inputs file '{path}' is not a readable .npz ({reason})") from None


def check_given_shapes(model: onnx.ModelProto, arrays: dict[str, np.ndarray], path: Path) -> None:
    """Each array of the inputs file fits its ONNX input's fixed dims (its free ones take
    the array's sizes). The import's own check spoke of `input_shapes`, which a ge-run user
    never gave."""
    from ge.frontends.onnx.loading import misfit

    for info in model.graph.input:
        array = arrays.get(info.name)
        declared = None if array is None else misfit(info, array.shape)
        if declared is not None:
            raise InterpretationError(
                f"inputs file '{path}': '{info.name}' has shape {list(array.shape)}, and the "
                f"model's input '{info.name}' is {declared}"
            )


def bind_named(arrays: dict[str, np.ndarray], fn: func.FuncOp, path: Path) -> dict[str, np.ndarray]:
    """`arrays` checked against `fn`'s input names, shapes and dtypes (same-kind casts)."""
    names = input_names(fn)
    extra = sorted(set(arrays) - set(names))
    if extra:
        raise InterpretationError(
            f"inputs file '{path}' has {extra}, which the model does not take; it takes {names}"
        )
    return dict(zip(names, bind_inputs(fn, arrays)))


def read_inputs(path: Path, fn: func.FuncOp) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, checked against `fn`'s input names, shapes and dtypes."""
    return bind_named(load_npz(path), fn, path)


def write_outputs(path: Path, names: Sequence[str], arrays: Sequence[np.ndarray]) -> None:
    """Write `arrays` under `names` as an .npz that `np.load` reads back (no pickles).

    Written member by member rather than with `np.savez(**kw)`, so that any output name
    works, including ones that clash with `savez`'s own parameters.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, array in zip(names, arrays):
            with z.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, _storable(np.asarray(array)), allow_pickle=False)


def show_outputs(names: Sequence[str], arrays: Sequence[np.ndarray], path: Path | None) -> None:
    """Write `arrays` to `path` (`write_outputs`) when given, and print each one's name, dtype
    and shape, as `ge-run` does for every run."""
    if path is not None:
        write_outputs(path, names, arrays)
    for name, array in zip(names, arrays):
        print(f"{name}: {array.dtype}[{'x'.join(map(str, array.shape))}]")


def _storable(array: np.ndarray) -> np.ndarray:
    """`array`, or its bytes as raw records when numpy cannot read its dtype back from a
    .npy header: ml_dtypes' float8 e5m2 writes '<f1', which `np.load` refuses (bf16 and the
    others already write '|V' records); `from_records` gives the type back on reading."""
    descr = np.lib.format.dtype_to_descr(array.dtype)
    try:
        if np.lib.format.descr_to_dtype(descr) == array.dtype:
            return array
    except (TypeError, ValueError):
        pass
    return array.view(np.dtype(f"V{array.dtype.itemsize}"))
