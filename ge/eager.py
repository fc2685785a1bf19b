"""Dynamic (eager) mode: run a graph one op at a time, each op its own small program.

Each op becomes a one-op function (its operands, constants included, are the function's
arguments, so weights are not baked into the program) and is compiled with the same
pipeline as static mode, then cached by op signature (name, properties, operand types).
Every op is a separate launch whose inputs and outputs go through device memory: the
profile shows that cost next to static mode, which is the point GE makes about the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from ge.pipeline import CompiledPlan, CompileOptions, compile_module, execute
from gedialects.ge.constant import ConstantOp
from gedialects.interpreter import bind_inputs, entry_function
from runtime.kernel_runner import free_values, single_kernel_module


def signature(op: Operation, values: Sequence[SSAValue]) -> str:
    """A key that identifies the compiled program of `op` (not its weights)."""
    operand_types = ",".join(str(v.type) for v in values)
    if op.regions:
        return f"{op}|{operand_types}"  # region bodies are part of the program
    props = ",".join(f"{k}={v}" for k, v in sorted(op.properties.items()))
    return f"{op.name}|{props}|{operand_types}"


@dataclass
class EagerRunner:
    """Runs a `ge` module op by op with per-signature compiled programs."""

    module: ModuleOp
    options: CompileOptions
    programs: dict[str, CompiledPlan] = field(default_factory=dict)
    launches: int = 0
    compiles: int = 0

    def __post_init__(self) -> None:
        """Calls of the module's own functions launch their bodies' ops: inline them (on a
        copy) so that the entry function holds every op to launch."""
        from passes.inline_calls import with_calls_inlined

        self.module = with_calls_inlined(self.module)

    def run(self, inputs: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[dict]]:
        fn = entry_function(self.module)
        inputs = bind_inputs(fn, inputs)  # checked against the model's names and types
        env: dict[SSAValue, np.ndarray] = dict(zip(fn.body.block.args, inputs))
        records: list[dict] = []
        for op in fn.body.block.ops:
            if isinstance(op, func.ReturnOp):
                return [env[v] for v in op.operands], records
            if isinstance(op, ConstantOp):
                env[op.output] = op.to_numpy()
                continue
            values = free_values(op)
            plan = self._program(op, values)
            outputs, profile = execute(plan, [env[v] for v in values])
            self.launches += 1
            env.update(zip(op.results, outputs))
            records.append({"op": op.name, "profile": profile, "plan": plan})
        raise AssertionError("function without a return")

    def _program(self, op: Operation, values: Sequence[SSAValue]) -> CompiledPlan:
        key = signature(op, values)
        if key not in self.programs:
            self.programs[key] = compile_module(single_kernel_module(op, values), self.options)
            self.compiles += 1
        return self.programs[key]
