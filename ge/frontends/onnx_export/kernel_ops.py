"""ONNX forms of the `kernel` dialect: each kernel is a call of an ONNX function.

A kernel becomes one node in the `gedialects.kernel` domain (so Netron shows the fused
kernel as one box, with what it was fused from in its doc string) calling a model-local
ONNX function whose body is the kernel's meaning in standard ONNX ops; onnxruntime
inlines the body and runs it. The body is found by writing the kernel as the `ge` ops it
stands for (`DECOMPOSE`, one short function per kernel kind, the same composition as
`gedialects.kernel.semantics`) and exporting those with the `ge` emitters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from onnx import helper
from xdsl.dialects.builtin import f32
from xdsl.ir import Attribute, Block, Operation, SSAValue

from ge.frontends.onnx_export.graph import OPSET, GraphBuilder, element_dtype, emit_ops, emits
from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import shape_of
from gedialects.kernel import ACTIVATIONS, KernelOp, MirrorKernelOp
from gedialects.kernel import ops as k
from gedialects.kernel.casting import CastingKernelOp
from gedialects.kernel.elementwise import ElementwiseOp

DOMAIN = "gedialects.kernel"
BOOKKEEPING = ("fused_from", "algorithm", "operandSegmentSizes", "kind", "cast_to")
"""Kernel properties that say how the kernel came about, not what it computes (`cast_to`
is written as Casts around the body, by `kernel_function`)."""

Decomposition = Callable[[Any, list[SSAValue], list[Operation]], list[SSAValue]]
DECOMPOSE: dict[type, Decomposition] = {}


def decomposes(*op_types: type) -> Callable[[Decomposition], Decomposition]:
    def register(fn: Decomposition) -> Decomposition:
        for t in op_types:
            DECOMPOSE[t] = fn
        return fn

    return register


def _props(op: KernelOp, *also_drop: str) -> dict[str, Attribute]:
    drop = {*BOOKKEEPING, *also_drop}
    return {k: v for k, v in op.properties.items() if k not in drop}


def _add(out: list[Operation], op: Operation) -> SSAValue:
    out.append(op)
    return op.results[0]


def _activation(op: KernelOp, key: str, y: SSAValue, out: list[Operation]) -> SSAValue:
    name = op.properties.get(key)
    if name is None:
        return y
    attrs = op.properties.get(f"{key}_attrs")
    props = dict(attrs.data) if attrs is not None else {}  # type: ignore[attr-defined]
    return _add(out, ACTIVATIONS[name.data](y, **props))  # type: ignore[attr-defined]


def _scaled(y: SSAValue, scale: float, out: list[Operation]) -> SSAValue:
    if scale == 1.0:
        return y
    factor = _add(out, ConstantOp(np.asarray(scale, dtype=element_dtype(y))))
    return _add(out, ge.MulOp(y, factor))


def _swapped(x: SSAValue, out: list[Operation]) -> SSAValue:
    rank = len(shape_of(x.type))
    perm = [*range(rank - 2), rank - 1, rank - 2]
    return _add(out, ge.TransposeOp(x, perm=perm))


@decomposes(*[cls for cls in k.MIRRORED.values()])
def _mirrored(op: MirrorKernelOp, xs: list[SSAValue], out: list[Operation]) -> list[SSAValue]:
    same = op.GE_OP(*xs, **_props(op, "activation", "activation_attrs"))
    out.append(same)
    if "activation" in op.properties:  # (an `ActivatedMirrorKernelOp`: one result)
        return [_activation(op, "activation", same.results[0], out)]
    return list(same.results)


@decomposes(k.Conv2DKernelOp)
def _conv(op: k.Conv2DKernelOp, xs: list[SSAValue], out: list[Operation]) -> list[SSAValue]:
    given = op.present(("bias", "scale", "shift", "residual"), xs[2:])
    conv_props = {n: op.properties[n] for n in ("strides", "pads", "dilations", "groups")}
    x = _activation(op, "input_activation", xs[0], out)
    y = _add(out, ge.Conv2DOp(x, xs[1], given.get("bias"), **conv_props))
    if "scale" in given:
        channels = [1, shape_of(op.output.type)[1], 1, 1]
        scale = _add(out, ge.ReshapeOp(given["scale"], shape=channels))
        shift = _add(out, ge.ReshapeOp(given["shift"], shape=channels))
        y = _add(out, ge.AddOp(_add(out, ge.MulOp(y, scale)), shift))
    y = _activation(op, "activation", y, out)
    if "residual" in given:
        y = _add(out, ge.AddOp(y, given["residual"]))
    return [_activation(op, "post_activation", y, out)]


@decomposes(k.MatMulKernelOp)
def _matmul(op: k.MatMulKernelOp, xs: list[SSAValue], out: list[Operation]) -> list[SSAValue]:
    a = _swapped(xs[0], out) if op.get_flag("transpose_a") else xs[0]
    b = _swapped(xs[1], out) if op.get_flag("transpose_b") else xs[1]
    given = op.present(op.OPTIONAL, xs[2:])
    y = _scaled(_add(out, ge.MatMulOp(a, b)), op.get_float("alpha"), out)
    if "bias" in given:
        y = _add(out, ge.AddOp(y, given["bias"]))
    y = _activation(op, "activation", y, out)
    if "multiplier" in given:
        y = _add(out, ge.MulOp(y, given["multiplier"]))
    if "residual" in given:
        y = _add(out, ge.AddOp(y, given["residual"]))
    return [y]


@decomposes(k.SoftmaxKernelOp)
def _softmax(op: k.SoftmaxKernelOp, xs: list[SSAValue], out: list[Operation]) -> list[SSAValue]:
    x = _scaled(xs[0], op.get_float("scale"), out)
    return [_add(out, ge.SoftmaxOp(x, axis=op.get_int("axis")))]


@decomposes(k.AttentionKernelOp)
def _attention(op: k.AttentionKernelOp, xs: list[SSAValue], out: list[Operation]):
    q, key, v = op.read_in_place(
        xs[:3], lambda x, p: _add(out, ge.TransposeOp(x, perm=list(p)))
    )
    key = _swapped(key, out) if op.get_flag("key_transposed") else key
    scores = _scaled(_add(out, ge.MatMulOp(q, key)), op.get_float("scale"), out)
    if len(xs) == 4:
        scores = _add(out, ge.AddOp(scores, xs[3]))
    probs = _add(out, ge.SoftmaxOp(scores, axis=-1))
    y = _add(out, ge.MatMulOp(probs, v))
    perm = op.perm("output_perm")
    return [y if perm is None else _add(out, ge.TransposeOp(y, perm=list(perm)))]


@decomposes(k.PoolKernelOp)
def _pool(op: k.PoolKernelOp, xs: list[SSAValue], out: list[Operation]) -> list[SSAValue]:
    return [_add(out, k.POOL_KINDS[op.get_str("kind")](xs[0], **_props(op)))]


@decomposes(k.ReduceKernelOp)
def _reduce(op: k.ReduceKernelOp, xs: list[SSAValue], out: list[Operation]) -> list[SSAValue]:
    return [_add(out, k.REDUCE_KINDS[op.get_str("kind")](xs[0], **_props(op)))]


@decomposes(ElementwiseOp)
def _elementwise(op: ElementwiseOp, xs: list[SSAValue], out: list[Operation]) -> list[SSAValue]:
    """The body's ops applied to whole tensors (they broadcast as the kernel does)."""
    env: dict[SSAValue, SSAValue] = dict(zip(op.block.args, xs))
    for body_op in op.block.ops:
        if body_op is op.block.last_op:
            break
        if isinstance(body_op, ConstantOp):
            whole: Operation = ConstantOp(body_op.to_numpy())
        else:
            operands = [env[v] for v in body_op.operands]
            whole = type(body_op)(*operands, **dict(body_op.properties))
        out.append(whole)
        env.update(zip(body_op.results, whole.results))
    y = env[op.yielded]
    shape = shape_of(op.output.type)
    if shape_of(y.type) != shape:  # a fused ge.expand: the result outgrows every input
        y = _add(out, ge.ExpandOp(y, shape=shape))
    return [y]


def _doc(op: KernelOp) -> str:
    algorithm = op.properties.get("algorithm")
    chosen = f"; algorithm {algorithm.data}" if algorithm is not None else ""  # type: ignore
    return f"{op.name} fused from {', '.join(op.fused_names)}{chosen}"


def kernel_function(op: KernelOp, name: str) -> Any:
    """An ONNX function computing `op` from its operands, in standard ops."""
    block = Block(arg_types=[v.type for v in op.operands])
    out: list[Operation] = []
    xs: list[SSAValue] = list(block.args)
    cast_to = op.cast_to if isinstance(op, CastingKernelOp) else None
    if cast_to is not None:  # computes in f32, stores in cast_to (gedialects.kernel.casting)
        xs[0] = _add(out, ge.CastOp(xs[0], to=f32))
    results = DECOMPOSE[type(op)](op, xs, out)
    if cast_to is not None:
        results = [_add(out, ge.CastOp(y, to=cast_to)) for y in results]
    ins = [f"in{i}" for i in range(len(op.operands))]
    outs = [f"out{i}" for i in range(len(op.results))]
    body = GraphBuilder(reserved=[*ins, *outs], constants_as_nodes=True)
    emit_ops(body, out, dict(zip(block.args, ins)), results, outs)
    return helper.make_function(
        DOMAIN,
        name,
        ins,
        outs,
        body.nodes,
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string=_doc(op),
    )


@emits(*DECOMPOSE)
def _kernel(b: GraphBuilder, op: KernelOp, xs: list[str], ys: list[str]) -> None:
    name = b.fresh(op.name.removeprefix("kernel."))
    b.add_function(kernel_function(op, name))
    b.node(name, xs, ys, domain=DOMAIN)
    b.nodes[-1].doc_string = _doc(op)


def kernel_kinds() -> Sequence[type]:
    """The kernel op classes the exporter handles."""
    return tuple(DECOMPOSE)
