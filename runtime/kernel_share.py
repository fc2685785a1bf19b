"""When two kernels of a model can share one npu program and executable (`KernelRunner`).

A kernel's one-kernel program depends on its op, attributes, types and constants only, so
kernels equal in all of them (`kernel_key`: BERT's layers repeat their attention, layer
norms and adds) share one lowered program. Kernels whose lowered programs differ only in
their constants' values (`program_key`: ResNet's repeated bottleneck convs, with weights of
their own) share one executable that runs with each kernel's constants bound
(`NpuExecutable.run(constants=...)`). Running a shared executable again is running an
executable again, which it supports: its modeled figures depend on the program's addresses
alone (or it interprets again, for a program whose addresses depend on data), and its
replay skips the interpretation a separate executable's first run would pay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute, Operation, SSAValue

from gedialects.npu.buffers import HbmConstantOp
from gedialects.npu.launch import KernelOp as NpuKernelOp

SCHEDULE_ATTRS = ("stream.", "mem.")
"""Prefixes of the attributes `schedule-streams` and `plan-memory` record on a kernel op: the
lowering of the kernel alone (`kernel_runner.single_kernel_module`, which leaves `stream.*`
out and has no arena) never reads them, so kernels that differ only there share a program."""


def kernel_key(
    op: Operation,
    arguments: Sequence[SSAValue],
    constants: Sequence[SSAValue],
    after: Sequence[Operation] = (),
) -> tuple[tuple, list[Attribute]]:
    """What `op`'s one-kernel program depends on, as (a hashable structural key, the constant
    values): every nested op's name, properties, attributes (but `SCHEDULE_ATTRS`), result
    and block argument types, and which value each operand is (an argument by position, a
    constant, or a value defined inside). The constants' values are returned apart, to be
    compared only between kernels whose keys are equal (no hashing of large weights). Ops
    `after` run in the same program (a split its GEMM stores) and are part of the key."""
    number: dict[SSAValue, int] = {v: i for i, v in enumerate([*arguments, *constants])}
    head = (tuple(v.type for v in arguments), tuple(v.type for v in constants))
    ops = [o for unit in (op, *after) for o in unit.walk()]
    key = _structure(ops, number, lambda o, name: name.startswith(SCHEDULE_ATTRS))
    return (head, key), [v.owner.value for v in constants]


def program_key(module: ModuleOp) -> tuple[tuple, list[Attribute]]:
    """A lowered program's structure (every op, property, attribute, type and operand) but
    the names of its kernels and the values of its constants, and those values in walk
    order: programs with equal keys compute the same thing on their own constants."""
    values = [op.value for op in module.walk() if isinstance(op, HbmConstantOp)]
    return _structure(module.walk(), {}, _data_or_name), values


def _data_or_name(op: Operation, name: str) -> bool:
    return (isinstance(op, NpuKernelOp) and name == "sym_name") or (
        isinstance(op, HbmConstantOp) and name == "value"
    )


def _structure(
    ops: Iterable[Operation], number: dict[SSAValue, int], skip: Callable[[Operation, str], bool]
) -> tuple:
    """Each op's name, kept properties and attributes, operands by number, result and block
    argument types; `number` numbers values in order of definition (arguments first)."""
    parts = []
    for op in ops:
        props = tuple(sorted((k, v) for k, v in op.properties.items() if not skip(op, k)))
        attrs = tuple(sorted((k, v) for k, v in op.attributes.items() if not skip(op, k)))
        blocks = []
        for region in op.regions:
            for block in region.blocks:
                blocks.append(tuple(a.type for a in block.args))
                for arg in block.args:
                    number[arg] = len(number)
        operands = tuple(number[v] for v in op.operands)
        results = tuple(r.type for r in op.results)
        parts.append((op.name, props, attrs, operands, results, tuple(blocks)))
        for result in op.results:
            number[result] = len(number)
    return tuple(parts)
