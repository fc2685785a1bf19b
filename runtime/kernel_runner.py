"""Run a kernel-level program on the modeled NPU, one kernel at a time, with a fallback.

Each kernel op is lowered alone (`lowering.convert_kernel_to_npu`) into a one-kernel npu
program, compiled once, and executed by the npu interpreter on the arrays its operands hold;
a kernel with no npu lowering yet runs its reference semantics instead and is listed in
`fallbacks` with the reason, so a whole model executes while the lowerings grow. Kernels run
one after another on stream 0; the profile holds the npu kernels in launch order.

Kernels that compute alike share one program and executable (`runtime.kernel_share`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from gedialects.errors import GeError, InterpretationError, UnsupportedError
from gedialects.ge.base import GeOp
from gedialects.ge.constant import ConstantOp, dense_to_numpy
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from gedialects.interpreter import bind_inputs, entry_function, run_reference
from gedialects.kernel import semantics as kernel_semantics
from gedialects.kernel.base import KernelOp
from gedialects.kernel.stored_split import stored_split
from gedialects.npu.launch import KernelOp as NpuKernelOp
from lowering.convert_kernel_to_npu import lower_module
from passes.memory.memory_rules import placed_offsets, view_offsets
from runtime.kernel_share import kernel_key, program_key
from runtime.npu_interpreter import NpuExecutable
from runtime.profile import KernelProfile, ProgramProfile
from runtime.targets import Target, load_target


@dataclass
class KernelRun:
    outputs: list[np.ndarray]
    profile: ProgramProfile
    fallbacks: list[tuple[str, str]] = field(default_factory=list)
    """(kernel op, reason) of each kernel that ran its reference semantics instead."""


def free_values(op: Operation) -> list[SSAValue]:
    """Operands of `op` and values its regions use from outside it, in first-use order."""
    inside = {r for o in op.walk() for r in o.results} | {
        a for o in op.walk() for region in o.regions for block in region.blocks for a in block.args
    }
    seen: dict[SSAValue, None] = {}
    for o in op.walk():
        for v in o.operands:
            if v not in inside:
                seen.setdefault(v, None)
    return list(seen)


def single_kernel_module(
    op: Operation,
    values: Sequence[SSAValue] | None = None,
    constants: Sequence[SSAValue] = (),
    after: Sequence[Operation] = (),
) -> ModuleOp:
    """A module whose `main` takes `values` (default: `op`'s free values) as arguments and
    returns `op`'s results: one kernel (or one op, in eager mode) as its own program. The
    `constants` (values defined by `ge.constant`) are copied in, so that the lowering sees
    weights as constants and can transform them at compile time. Ops `after` (reading only
    `op` and `values`) join the program, which then returns the last one's results. The
    copies leave `schedule-streams`' attributes behind: the program is one stream."""
    values = free_values(op) if values is None else list(values)
    types = [v.type for v in values]
    block = Block(arg_types=types)
    mapping = dict(zip(values, block.args))
    for value in constants:
        copy = value.owner.clone()
        block.add_op(copy)
        mapping[value] = copy.results[0]
    for each in (op, *after):
        clone = each.clone(value_mapper=mapping)
        for name in [n for n in clone.attributes if n.startswith("stream.")]:
            del clone.attributes[name]  # alone, it has no other stream to wait for
        mapping.update(zip(each.results, clone.results))
        block.add_op(clone)
    block.add_op(func.ReturnOp(*clone.results))
    fn = func.FuncOp("main", (types, [r.type for r in clone.results]), Region(block))
    return ModuleOp([fn])


class KernelRunner:
    """A kernel-level function prepared for the NPU: lowered kernels compiled, others noted."""

    def __init__(
        self, module: ModuleOp, target: str | Target | None = None, entry: str | None = None
    ):
        self.target = load_target(target)
        self.fn = entry_function(module, entry)
        self.executables: dict[Operation, NpuExecutable] = {}
        self.arguments: dict[Operation, list[SSAValue]] = {}
        """Per lowered kernel, the values its one-kernel program takes (each operand once, and
        values its regions use from outside; constants are copied into the program), in the
        program's argument order."""
        self.reasons: dict[Operation, str] = {}
        self.names: dict[Operation, str] = {}
        """Per lowered kernel, the name its npu kernels' profiles carry (`<op>_<index>`)."""
        self.bound: dict[Operation, Constants | None] = {}
        """Per lowered kernel whose executable another kernel's program compiled, the values
        of its own program's constants, which the executable runs with."""
        same_kernels: dict[tuple, list[tuple[list, Operation]]] = {}
        same_programs: dict[tuple, NpuExecutable] = {}
        self.programs: dict[Operation, tuple[ModuleOp, list[SSAValue]]] = {}
        """Per op the reference interpreter runs whole (control flow), its program and values."""
        self.stored: dict[Operation, Operation] = {}
        """Per matmul whose GEMM stores the pieces of the split that alone reads its product
        (`stored_split`), that split: one program computes the pieces, the split launches
        nothing."""
        self.pieces: dict[Operation, Sequence[np.ndarray]] = {}
        """Per such split, the pieces its producer's last run stored."""
        self.views: set[Operation] = set()
        """Kernels the memory plan makes views of their operand (a reshape, a split into
        contiguous pieces) or places their operands in (a concat of contiguous pieces):
        they launch nothing, as the schedule has them."""
        self.kept: set[NpuExecutable] = set()
        self.kept_bytes = 0
        """The executables that keep their HBM arrays between runs, and those bytes
        (`KEPT_HBM_BYTES`)."""
        self.empty: dict[Operation, list[np.ndarray]] = {}
        """Per kernel whose results all have zero elements, those results: it launches
        nothing (as GE skips a node whose outputs are empty tensors), however big its
        operands; no lowering could run it (a zero-element tensor has no npu buffer)."""
        for index, op in enumerate(self.fn.body.block.ops):
            if isinstance(op, ConstantOp | func.ReturnOp):
                continue
            if op.dialect_name() == "scf":  # a recurrent layer's scf.for, scf.if: `execute`
                self.reasons[op] = (
                    f"control flow ('{op.name}') runs on the reference interpreter with the "
                    "values its regions use"
                )
                continue
            if empty := _empty_results(op):  # nothing to compute: GE skips the node too
                self.empty[op] = empty
                continue
            if op in self.stored.values():  # its producer's program computes it
                continue
            if view_offsets(op) is not None or placed_offsets(op) is not None:
                self.views.add(op)  # its bytes are its operand's, or its operands are in it
                continue  # (GE's no-task ops): no launch
            try:
                free = free_values(op)
                constants = _constants(free)
                self.arguments[op] = [v for v in free if v not in constants]
                self.names[op] = f"{op.name.split('.')[-1]}_{index}"
                split = stored_split(op)
                if split is not None and not _empty_results(split):
                    self.stored[op] = split
                after = [self.stored[op]] if op in self.stored else []
                key, values = kernel_key(op, self.arguments[op], constants, after)
                same = same_kernels.setdefault(key, [])
                twin = next((o for v, o in same if v == values), None)
                if twin is not None:  # the same kernel: its program, executable and constants
                    self.executables[op], self.bound[op] = self.executables[twin], self.bound[twin]
                    continue
                lowered = self._lower(op, constants)
                structure, data = program_key(lowered)
                owner = same_programs.get(structure)
                if owner is None:
                    owner = same_programs[structure] = NpuExecutable(lowered, self.target)
                    data = []  # its own constants are the program's
                self.executables[op] = owner
                self.bound[op] = Constants(data) if data else None
                if data:
                    owner.vary_constants()
                same.append((values, op))
            except Exception as error:  # noqa: BLE001 (a model must run; see `_fall_back`)
                self.stored.pop(op, None)  # its split then runs as a kernel of its own
                _fall_back(self.reasons, op, error, "lowering")

    def lower(self, op: Operation) -> ModuleOp:
        """Lower kernel `op` again, as construction did (with whatever tile decisions are
        active now: `lowering.tile_tuning`); its program takes `self.arguments[op]`."""
        return self._lower(op, _constants(free_values(op)))

    def _lower(self, op: Operation, constants: list[SSAValue]) -> ModuleOp:
        after = [self.stored[op]] if op in self.stored else []
        program = single_kernel_module(op, self.arguments[op], constants, after)
        lowered = lower_module(program, self.target)
        for kernel in lowered.walk():
            if isinstance(kernel, NpuKernelOp):
                kernel.sym_name = StringAttr(self.names[op])
        return lowered

    def run(
        self, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray], trace: bool = False
    ) -> KernelRun:
        env: dict[SSAValue, np.ndarray] = dict(
            zip(self.fn.body.block.args, bind_inputs(self.fn, inputs))
        )
        run = KernelRun([], ProgramProfile(self.target.name))
        clock = 0.0
        for op in self.fn.body.block.ops:
            args = [env[v] for v in op.operands]
            if isinstance(op, func.ReturnOp):
                run.outputs = [np.asarray(a) for a in args]
                return run
            if isinstance(op, ConstantOp):
                results: Sequence[np.ndarray] = (op.to_numpy(),)
            else:
                results, kernels = self.execute(op, env, trace)
                if kernels is None:
                    run.fallbacks.append((op.name, self.reasons[op]))
                for kernel in kernels or ():
                    kernel.start_cycle = clock
                    clock += kernel.cycles
                    run.profile.kernels.append(kernel)
            for value, array in zip(op.results, results, strict=True):
                env[value] = array
        raise InterpretationError("the function has no func.return")

    def execute(
        self, op: Operation, env: Mapping[SSAValue, np.ndarray], trace: bool = False
    ) -> tuple[Sequence[np.ndarray], list[KernelProfile] | None]:
        """`op`'s results from the arrays `env` holds: on the modeled NPU with its kernels'
        profiles, or by reference semantics with None (no lowering, or its run failed)."""
        if op in self.empty:
            return self.empty[op], []
        if op in self.pieces:  # stored by its producer's GEMM: no launch of its own
            return self.pieces.pop(op), []
        if op in self.views:
            return reference_outputs(op, [env[v] for v in op.operands]), []
        if op in self.executables:
            try:
                args = [env[v] for v in self.arguments[op]]
                bound = self.bound.get(op)
                constants = None if bound is None else bound.arrays()
                executable = self.executables[op]
                result = executable.run(args, trace, constants)
                self._keep_or_release(executable)
                for kernel in result.profile.kernels:  # the executable may be shared
                    kernel.name = self.names[op]
                if op in self.stored:  # the split's pieces; the product is their concatenation
                    self.pieces[self.stored[op]] = result.outputs
                    return [np.concatenate(result.outputs, axis=-1)], result.profile.kernels
                return result.outputs, result.profile.kernels
            except Exception as error:  # noqa: BLE001 (see `_fall_back`)
                try:
                    outputs = self._by_reference(op, env)
                except GeError as refused:  # the inputs' fault (an index out of range)
                    raise refused from None
                del self.executables[op]
                _fall_back(self.reasons, op, error, "execution")
                return outputs, None
        return self._by_reference(op, env), None

    def _keep_or_release(self, executable: NpuExecutable) -> None:
        """Keep `executable`'s HBM arrays for its next run (where its captured replay reads
        them) while all that are kept stay within `KEPT_HBM_BYTES`; past it, let them go."""
        if executable in self.kept:
            return
        size = executable.memory.nbytes
        if self.kept_bytes + size <= KEPT_HBM_BYTES:
            self.kept.add(executable)
            self.kept_bytes += size
        else:
            executable.release()

    def _by_reference(self, op: Operation, env: Mapping[SSAValue, np.ndarray]) -> Sequence:
        if isinstance(op, KernelOp | GeOp) or op.name.startswith("kernel."):
            return reference_outputs(op, [env[v] for v in op.operands])
        # control flow (scf.for of a recurrent layer, scf.if) and scalars: the reference
        # interpreter runs the op with the values its regions use
        if op not in self.programs:  # built once, not on every run
            values = free_values(op)
            self.programs[op] = (single_kernel_module(op, values), values)
        program, values = self.programs[op]
        return run_reference(program, [env[v] for v in values])


def _constants(values: list[SSAValue]) -> list[SSAValue]:
    """Those of `values` that constants define: copied into a kernel's program."""
    return [v for v in values if isinstance(v.owner, ConstantOp)]


def _empty_results(op: Operation) -> list[np.ndarray]:
    """The results of a kernel op whose results are all zero-element tensors (empty arrays
    of their shapes and types), else []."""
    if not op.results or not isinstance(op, KernelOp | GeOp):
        return []
    types = [r.type for r in op.results]
    if not all(isinstance(t, TensorType) and 0 in t.get_shape() for t in types):
        return []
    return [np.empty(shape_of(t), to_numpy_dtype(element_of(t))) for t in types]


class Constants:
    """The constant values of a kernel's lowered program, decoded when it first runs."""

    def __init__(self, values: list[Attribute]):
        self.values, self._arrays = values, None

    def arrays(self) -> list[np.ndarray]:
        if self._arrays is None:
            self._arrays = [dense_to_numpy(v) for v in self.values]
        return self._arrays


KEPT_HBM_BYTES = 2 * 2**30
"""HBM arrays a runner's executables keep between runs, at most. Each kernel's executable
holds a copy of its arguments, its outputs and its arena for the replay it captured
(`npu_replay`), so a model's kernels together hold about twice its activations: 9.5 GB
resident for a style-transfer net at 1024x1024 (4.95 GB of activations). Past the budget,
an executable lets its arrays go after each run and interprets again on the next; within
it, warm runs replay."""


STRICT_ENV = "GE_NPU_STRICT"
"""Set to 1 (the test suite does) to raise, not fall back, when a kernel's npu lowering or
execution fails for any reason other than `UnsupportedError`."""


def _fall_back(reasons: dict, op: Operation, error: Exception, stage: str) -> None:
    """Record why `op` runs by reference. A kernel the npu dialect does not support yet is
    expected; any other failure is a compiler bug, but a model must still run for its user, so
    it is recorded (and reported as the kernel's fallback reason) unless `GE_NPU_STRICT` is set."""
    if isinstance(error, UnsupportedError):
        reasons[op] = str(error)
        return
    if os.environ.get(STRICT_ENV) == "1":
        raise error
    reasons[op] = f"internal error in npu {stage} ({type(error).__name__}: {error})"
    warnings.warn(f"{op.name}: {reasons[op]}; running it by reference", stacklevel=3)


def reference_outputs(op: Operation, args: list[np.ndarray]) -> Sequence[np.ndarray]:
    """An op's results by its reference semantics (the fallback for unlowered kernels)."""
    if isinstance(op, KernelOp) or op.name.startswith("kernel."):
        return kernel_semantics.evaluate(op, *args)
    if isinstance(op, GeOp):
        from gedialects.ge.semantics import evaluate

        return evaluate(op, *args)
    raise InterpretationError(f"'{op.name}' has neither an npu lowering nor reference semantics")


def run_kernels_on_npu(
    module: ModuleOp,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    target: str | Target | None = None,
    entry: str | None = None,
) -> KernelRun:
    """Run `entry` of a kernel-level module kernel by kernel on the modeled NPU."""
    return KernelRunner(module, target, entry).run(inputs)
