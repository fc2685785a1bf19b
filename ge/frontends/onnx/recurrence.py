"""The machinery of recurrent layers (LSTM, GRU, RNN): the cell unrolled over the steps, or
one `scf.for` per direction.

The input projection X·Wᵀ + biases of every step is one `ge.matmul` before the loop. Up to
`UNROLL_STEPS` steps the cell is imported once per step, reading its step of the projection
with a static slice, and the outputs are concatenated: every step's matmul and gates are then
kernels the NPU runs (control flow runs on the reference interpreter). Longer sequences loop:
the body reads step t with `ge.extract_step`, applies the cell to
the carried hidden (and cell) state, and writes the new hidden state into the carried
output sequence with `ge.insert_step`. A reverse direction runs on the time-reversed
projection and reverses its outputs back. The number of steps is static; constant
per-batch `sequence_lens` mask the steps past each sequence's end (state kept, output 0).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IndexType
from xdsl.ir import Block, SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_math import scalar, softsign_of, thresholded_relu_of
from gedialects.ge import ops
from gedialects.ge.sequence import ExtractStepOp, InsertStepOp

Step = SSAValue | int
"""A step index: the loop's induction variable, or a known step of an unrolled recurrence."""
Cell = Callable[[Node, Step, list[SSAValue]], list[SSAValue]]

UNROLL_STEPS = 64
"""Most steps a recurrence is unrolled to. Why not always: a 10,000-step sequence would import
10,000 cells (as for ONNX Loop); why not never: a looped cell runs by reference."""

ACTIVATIONS: dict[str, Callable[[Node, SSAValue, float | None, float | None], SSAValue]] = {
    "Sigmoid": lambda n, x, a, b: n.emit(ops.SigmoidOp(x)),
    "Tanh": lambda n, x, a, b: n.emit(ops.TanhOp(x)),
    "Relu": lambda n, x, a, b: n.emit(ops.ReluOp(x)),
    "Softplus": lambda n, x, a, b: n.emit(ops.SoftplusOp(x)),
    "HardSigmoid": lambda n, x, a, b: n.emit(
        ops.HardSigmoidOp(x, alpha=0.2 if a is None else a, beta=0.5 if b is None else b)
    ),
    "LeakyRelu": lambda n, x, a, b: n.emit(ops.LeakyReluOp(x, alpha=0.01 if a is None else a)),
    "Elu": lambda n, x, a, b: n.emit(ops.EluOp(x, alpha=1.0 if a is None else a)),
    # onnxruntime reads a missing alpha or beta of these three as 0 (a missing one of the
    # three above takes the op's default): Affine and ScaledTanh are then 0, and
    # ThresholdedRelu passes every positive x
    "Affine": lambda n, x, a, b: _affine(n, x, a or 0.0, b or 0.0),
    "ThresholdedRelu": lambda n, x, a, b: thresholded_relu_of(n, x, a or 0.0),
    "ScaledTanh": lambda n, x, a, b: _affine(
        n, n.emit(ops.TanhOp(_affine(n, x, b or 0.0, 0.0))), a or 0.0, 0.0
    ),
    "Softsign": lambda n, x, a, b: softsign_of(n, x),
}

TAKES_ALPHA = frozenset(
    {"HardSigmoid", "LeakyRelu", "Elu", "Affine", "ThresholdedRelu", "ScaledTanh"}
)
TAKES_BETA = frozenset({"HardSigmoid", "Affine", "ScaledTanh"})


def _affine(n: Node, x: SSAValue, alpha: float, beta: float) -> SSAValue:
    """alpha * x + beta (the multiply or add left out where it does nothing)."""
    if alpha != 1.0:
        x = n.emit(ops.MulOp(x, scalar(n, alpha, x)))
    return x if beta == 0.0 else n.emit(ops.AddOp(x, scalar(n, beta, x)))


def activations(
    n: Node, defaults: list[str], directions: int, unclipped: tuple[int, ...] = ()
) -> list[Callable]:
    """The activation functions of every direction, in order (f, g, h per direction).

    `clip` bounds the gates' pre-activations; positions in `unclipped` (LSTM's h, applied
    to the cell state) are not clipped, as onnxruntime does.
    """
    names = n.attr("activations") or defaults * directions
    names = [v.decode() if isinstance(v, bytes) else v for v in names]
    alphas = iter(n.attr("activation_alpha") or [])
    betas = iter(n.attr("activation_beta") or [])
    funcs = []
    for i, name in enumerate(names):
        if name not in ACTIVATIONS:
            raise n.unsupported(f"activation '{name}' is not supported")
        # each activation that takes an alpha (a beta) consumes the next one, as onnxruntime
        # reads "consumed in the order of activation functions": [Sigmoid, LeakyRelu] with
        # alphas [0.1] is LeakyRelu(0.1)
        a = next(alphas, None) if name in TAKES_ALPHA else None
        b = next(betas, None) if name in TAKES_BETA else None
        clip = None if i % len(defaults) in unclipped else n.attr("clip")
        funcs.append(lambda x, f=ACTIVATIONS[name], a=a, b=b, c=clip: f(n, clipped(n, x, c), a, b))
    return funcs


def clipped(n: Node, x: SSAValue, bound: float | None) -> SSAValue:
    """`x` bounded to [-bound, bound] (the `clip` attribute), or `x` when no bound."""
    if bound is None:
        return x
    return n.emit(ops.ClipOp(x, min=-float(bound), max=float(bound)))


def index_constant(n: Node, value: int) -> SSAValue:
    op = arith.ConstantOp.from_int_and_width(value, IndexType())
    n.state.root.add_op(op)
    return op.result


def step_of(n: Node, value: SSAValue, t: Step) -> SSAValue:
    """value[t] along axis 0: a static slice for a known step, else `ge.extract_step`."""
    if not isinstance(t, int):
        return n.emit(ExtractStepOp(value, t, axis=0))
    row = n.emit(ops.SliceOp(value, starts=[t], ends=[t + 1], axes=[0], steps=[1]))
    return n.emit(ops.ReshapeOp(row, shape=list(n.shape_of(value)[1:])))


def for_loop(n: Node, count: int, carried: list[SSAValue], body: Cell) -> list[SSAValue]:
    """`scf.for t in [0, count)` carrying `carried`; `body(n, t, values)` gives the next."""
    bounds = [index_constant(n, v) for v in (0, count, 1)]
    block = Block(arg_types=[IndexType(), *[v.type for v in carried]])
    with n.state.building(block):
        results = body(n, block.args[0], list(block.args[1:]))
        block.add_op(scf.YieldOp(*results))
    loop = scf.ForOp(*bounds, carried, block)
    n.state.block.add_op(loop)
    return list(loop.results)


Product = Callable[[Node, SSAValue], SSAValue]
"""x -> x·Wᵀ for one direction's weight W, emitted where `n` builds (inside a step's loop
body for the recurrent weight): a float matmul, or a dynamically quantized one."""


StepProduct = Callable[[Node, Step, SSAValue], SSAValue]
"""(t, h) -> h·Rᵀ at step t: a recurrent product that may depend on the step (onnxruntime's
dynamically quantized LSTM quantizes the hidden state with finished sequences' rows zero)."""


def matmul_by(weight_t: SSAValue) -> Product:
    """The float product x -> x·weight_t."""
    return lambda n, x: n.emit(ops.MatMulOp(x, weight_t))


def pick(n: Node, value: SSAValue, index: int) -> SSAValue:
    """value[index] along axis 0 (the direction axis of W, R, B, initial states)."""
    return n.emit(ops.GatherOp(value, n.constant(np.asarray(index, np.int64)), axis=0))


def transposed(n: Node, value: SSAValue) -> SSAValue:
    return n.emit(ops.TransposeOp(value, perm=[1, 0]))


def reverse_steps(n: Node, value: SSAValue) -> SSAValue:
    big = np.iinfo(np.int64)
    return n.emit(ops.SliceOp(value, starts=[-1], ends=[big.min + 1], axes=[0], steps=[-1]))


def split(n: Node, value: SSAValue, parts: int) -> list[SSAValue]:
    width = n.shape_of(value)[-1] // parts
    return n.emit_all(ops.SplitOp(value, axis=-1, sizes=[width] * parts))


class Recurrence:
    """What every recurrent layer shares: layout, directions, states and outputs."""

    def __init__(self, n: Node, gates: int, states: int):
        self.n, self.gates, self.states = n, gates, states
        self.hidden = int(n.attr("hidden_size"))
        self.layout = int(n.attr("layout", 0))
        direction = n.attr("direction", "forward")
        self.reverse = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[
            direction
        ]
        x = n.value(0)
        self.x = n.emit(ops.TransposeOp(x, perm=[1, 0, 2])) if self.layout else x
        self.steps, self.batch = n.shape_of(self.x)[:2]
        self.lens = None
        if n.has(4):
            lens = np.asarray(n.const(4, "sequence_lens"), np.int64).reshape(-1)
            if lens.shape != (self.batch,) or lens.min() < 0 or lens.max() > self.steps:
                raise n.error(f"sequence_lens {lens.tolist()} do not fit {self.steps} steps")
            self.lens = None if np.all(lens == self.steps) else lens

    def projection(self, d: int, bias: SSAValue | None, product: Product | None = None) -> SSAValue:
        """X·W[d]ᵀ (+ bias) for every step, time-reversed for a reverse direction;
        `product` computes X·W[d]ᵀ where W is not a float input 1."""
        if product is None:
            product = matmul_by(transposed(self.n, pick(self.n, self.n.value(1), d)))
        xw = product(self.n, self.x)
        if bias is not None:
            xw = self.n.emit(ops.AddOp(xw, bias))
        return self.reversed(xw) if self.reverse[d] else xw

    def reversed(self, value: SSAValue) -> SSAValue:
        """`value` (steps, batch, ...) with each sequence's valid steps in reverse order.

        Step t of batch b becomes step lens[b] - 1 - t (t < lens[b]); the padding steps
        stay. One gather over (steps * batch) rows does it; applying it twice is identity.
        """
        if self.lens is None:
            return reverse_steps(self.n, value)
        n, shape = self.n, self.n.shape_of(value)
        t, b = np.meshgrid(np.arange(self.steps), np.arange(self.batch), indexing="ij")
        source = np.where(t < self.lens, self.lens - 1 - t, t) * self.batch + b
        rows = n.emit(ops.ReshapeOp(value, shape=[self.steps * self.batch, *shape[2:]]))
        return n.emit(ops.GatherOp(rows, n.constant(source.astype(np.int64)), axis=0))

    def initial(self, index: int, d: int) -> SSAValue:
        """Initial hidden/cell state of direction d, (batch, hidden)."""
        n = self.n
        if not n.has(index):
            return n.constant(np.zeros((self.batch, self.hidden), n.dtype(0)))
        value = n.value(index)
        if self.layout:
            value = n.emit(ops.TransposeOp(value, perm=[1, 0, 2]))
        return pick(n, value, d)

    def run(self, d: int, cell: Cell, states: list[SSAValue]) -> list[SSAValue]:
        """Loop `cell` over the steps; returns the final states and the output sequence."""
        n = self.n
        seq = n.constant(np.zeros((self.steps, self.batch, self.hidden), n.dtype(0)))

        valid = None
        if self.lens is not None:  # (steps, batch, 1): whether step t of batch b is real
            steps = np.arange(self.steps).reshape(-1, 1, 1)
            valid = n.constant(steps < self.lens.reshape(1, -1, 1))
        zero = n.constant(np.zeros((), n.dtype(0)))

        def step(n: Node, t: Step, old: list[SSAValue]) -> tuple[list[SSAValue], SSAValue]:
            new = cell(n, t, old)
            out = new[0]
            if valid is not None:  # past its length a sequence keeps its state, outputs 0
                keep = step_of(n, valid, t)
                out = n.emit(ops.WhereOp(keep, new[0], zero))
                new = [n.emit(ops.WhereOp(keep, v, o)) for v, o in zip(new, old)]
            return new, out

        def body(n: Node, t: SSAValue, carried: list[SSAValue]) -> list[SSAValue]:
            *old, y = carried
            new, out = step(n, t, old)
            return [*new, n.emit(InsertStepOp(y, out, t, axis=0))]

        if self.steps <= UNROLL_STEPS:
            finals, outs = states, []
            for t in range(self.steps):
                finals, out = step(n, t, finals)
                outs.append(n.emit(ops.ReshapeOp(out, shape=[1, *n.shape_of(out)])))
            y = outs[0] if len(outs) == 1 else n.emit(ops.ConcatOp(*outs, axis=0))
        else:
            *finals, y = for_loop(n, self.steps, [*states, seq], body)
        if self.lens is not None and self.lens.min() == 0:  # as onnxruntime: empty gives 0
            some = n.constant((self.lens > 0).reshape(-1, 1))
            finals = [n.emit(ops.WhereOp(some, f, zero)) for f in finals]
        return [*finals, self.reversed(y) if self.reverse[d] else y]

    def outputs(self, per_direction: list[list[SSAValue]]) -> list[SSAValue]:
        """Y (steps, dirs, batch, hidden) and the final states (dirs, batch, hidden)."""
        n = self.n

        def stack(values: list[SSAValue], axis: int) -> SSAValue:
            expanded = []
            for v in values:
                shape = list(n.shape_of(v))
                shape.insert(axis, 1)
                expanded.append(n.emit(ops.ReshapeOp(v, shape=shape)))
            return expanded[0] if len(expanded) == 1 else n.emit(ops.ConcatOp(*expanded, axis=axis))

        y = stack([r[-1] for r in per_direction], 1)
        finals = [stack([r[i] for r in per_direction], 0) for i in range(self.states)]
        if self.layout:
            y = n.emit(ops.TransposeOp(y, perm=[2, 0, 1, 3]))
            finals = [n.emit(ops.TransposeOp(f, perm=[1, 0, 2])) for f in finals]
        return [y, *finals]

    def biases(self, d: int) -> tuple[SSAValue | None, SSAValue | None]:
        """(Wb[d], Rb[d]) of direction d, or None when B is absent."""
        if not self.n.has(3):
            return None, None
        wb, rb = split(self.n, pick(self.n, self.n.value(3), d), 2)
        return wb, rb
