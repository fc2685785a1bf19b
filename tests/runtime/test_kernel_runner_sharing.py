# ruff: noqa: E501  (lines of IR text)
"""Identical kernels share one lowered program and executable, with every figure unchanged."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, StringAttr, i64
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from ge.registry import all_passes, make_context
from gedialects.interpreter import run_reference
from gedialects.npu.launch import KernelOp as NpuKernelOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.kernel_runner import KernelRunner, single_kernel_module
from runtime.npu_interpreter import NpuExecutable

T = "tensor<40x300xf32>"
CT = "tensor<40x1xf32>"
C1 = f"dense<[{', '.join(f'[{i / 8}]' for i in range(40))}]> : {CT}"
C3 = f"dense<[{', '.join(f'[{-i / 4}]' for i in range(40))}]> : {CT}"
PROGRAM = f"""func.func @main(%x: {T}, %y: {T}) -> ({T}, {T}) {{
  %c1 = ge.constant {C1}
  %c2 = ge.constant {C1}
  %c3 = ge.constant {C3}
  %a = ge.add %x, %c1 : ({T}, {CT}) -> {T}
  %b = ge.add %y, %c2 : ({T}, {CT}) -> {T}
  %c = ge.add %x, %c3 : ({T}, {CT}) -> {T}
  %s1 = ge.softmax %a {{axis = -1 : i64}} : ({T}) -> {T}
  %s2 = ge.softmax %b {{axis = -1 : i64}} : ({T}) -> {T}
  %s3 = ge.softmax %c {{axis = -1 : i64}} : ({T}) -> {T}
  %t = ge.mul %s1, %s2 : ({T}, {T}) -> {T}
  func.return %t, %s3 : {T}, {T}
}}"""


def _kernels():
    ctx = make_context()
    module = Parser(ctx, PROGRAM).parse_module()
    passes = "convert-ge-to-kernel,fuse-elementwise"
    PassPipeline.parse_spec(dict(all_passes()), passes).apply(ctx, module)
    fn = module.body.block.first_op
    ops = [op for op in fn.body.block.ops if op.name.startswith("kernel.")]
    return module, ops


def _inputs():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((40, 300)).astype(np.float32) for _ in range(2)]


def _unshared(runner: KernelRunner, op, env) -> list[dict]:
    """`op`'s kernel profiles from an executable of its own, named as the runner names it."""
    free = runner.arguments[op]
    constants = [v for v in op.operands if v not in free]
    lowered = lower_module(single_kernel_module(op, free, constants), runner.target)
    for kernel in lowered.walk():
        if isinstance(kernel, NpuKernelOp):
            kernel.sym_name = StringAttr(runner.names[op])
    result = NpuExecutable(lowered, runner.target).run([env[v] for v in free])
    return result.outputs, [k.as_dict() for k in result.profile.kernels]


def test_identical_kernels_share_one_executable_with_the_same_figures(monkeypatch):
    lowered = _count_lowerings(monkeypatch)
    module, (a, b, c, s1, s2, s3, t) = _kernels()
    runner = KernelRunner(module)
    ex = runner.executables
    assert ex[a] is ex[b], "same op, types and constant value"
    assert ex[s1] is ex[s2] is ex[s3], "no constants: same op and types"
    assert ex[t] is not ex[a]
    assert lowered == _ids(a, c, s1, t), "a twin is not lowered again"
    # c's program differs from a's in its constant's value only: one executable, c's bound
    assert ex[c] is ex[a] and runner.bound[a] is None and runner.bound[c] is not None
    assert len({id(e) for e in ex.values()}) == 3
    inputs = _inputs()
    run = runner.run(inputs)
    for got, want in zip(run.outputs, run_reference(module, inputs), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Each kernel's records equal those of an executable of its own (first, interpreted run).
    fn = module.body.block.first_op
    env = dict(zip(fn.body.block.args, inputs))
    records = iter(run.profile.kernels)
    for op in (a, b, c, s1, s2, s3, t):
        outputs, alone = _unshared(runner, op, env)
        env.update(zip(op.results, outputs))
        for want in alone:
            got = next(records).as_dict()
            got.pop("start_cycle"), want.pop("start_cycle")
            assert got == want, op.name
    assert [k.name for k in run.profile.kernels] == [
        runner.names[op] for op in (a, b, c, s1, s2, s3, t)
    ]
    again = runner.run(inputs)
    for x, y in zip(again.outputs, run.outputs, strict=True):
        np.testing.assert_array_equal(x, y)


def test_schedule_attributes_do_not_split_a_share_and_others_do(monkeypatch):
    lowered = _count_lowerings(monkeypatch)
    module, (a, b, c, s1, s2, s3, t) = _kernels()
    s1.attributes["stream.id"] = IntegerAttr(1, i64)
    s2.attributes["mem.offset"] = IntegerAttr(512, i64)
    s3.attributes["ge.tiling"] = IntegerAttr(7, i64)
    ex = KernelRunner(module).executables
    assert lowered == _ids(a, c, s1, s3, t)  # s3 may lower otherwise: lowered again ...
    assert ex[s1] is ex[s2] is ex[s3]  # ... to the same program


def _count_lowerings(monkeypatch) -> list:
    """The kernel ops lowered, in order (lowering is skipped for a kernel's twin)."""
    import runtime.kernel_runner as kr

    seen, lower = [], kr.lower_module

    def counted(program, target):
        fn = program.body.block.first_op
        seen.extend(_ids(*[op for op in fn.body.block.ops if op.name.startswith("kernel.")]))
        return lower(program, target)

    monkeypatch.setattr(kr, "lower_module", counted)
    return seen


def _ids(*ops) -> list:
    """What tells the test's kernels apart (the runner lowers clones of them)."""
    return [
        (op.name, str(op.operands[-1].type), str(op.properties.get("fused_from"))) for op in ops
    ]


GATHERS = """func.func @main(%d: tensor<10x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %c1 = ge.constant dense<[1, 9, -2]> : tensor<3xi64>
  %c2 = ge.constant dense<[0, 0, 7]> : tensor<3xi64>
  %y1 = kernel.gather %d, %c1 {axis = 0 : i64, fused_from = ["ge.gather"]} : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
  %y2 = kernel.gather %d, %c2 {axis = 0 : i64, fused_from = ["ge.gather"]} : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
  func.return %y1, %y2 : tensor<3x4xf32>, tensor<3x4xf32>
}"""


def test_a_shared_program_whose_addresses_follow_its_constants():
    """Gathers of constant indices read their rows by `npu.load_scalar`: the shared executable
    is interpreted again with each kernel's indices, not replayed."""
    module = Parser(make_context(), GATHERS).parse_module()
    fn = module.body.block.first_op
    g1, g2 = [op for op in fn.body.block.ops if op.name == "kernel.gather"]
    runner = KernelRunner(module)
    assert runner.executables[g1] is runner.executables[g2] and runner.bound[g2] is not None
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    for _ in range(2):  # the second run rebinds each kernel's indices
        run = runner.run([x])
        want = run_reference(module, [x])
        for got, ref in zip(run.outputs, want, strict=True):
            np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(run.outputs[1], x[[0, 0, 7]])
    env = {fn.body.block.args[0]: x}
    for op, got in zip((g1, g2), run.profile.kernels, strict=True):
        _, (alone,) = _unshared(runner, op, env)
        got = got.as_dict()
        got.pop("start_cycle"), alone.pop("start_cycle")
        assert got == alone
