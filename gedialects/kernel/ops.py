"""The fused compute kernels: conv2d and matmul with epilogues, softmax, attention.

Compute kernels carry an epilogue (conv2d, matmul), a prologue scale (softmax), or a whole
subgraph (attention). Their type rules reuse the `ge` rules of the op they generalise, so
a shape error reads the same at both levels. The other kernels live by family: pools and
reductions in `gedialects.kernel.reductions`, mirrored one-op kernels (every other `ge` op,
with its exact operands and properties) in `gedialects.kernel.mirrored`, elementwise chains
in `gedialects.kernel.elementwise`.

`POOL_KINDS`, `REDUCE_KINDS`, `PoolKernelOp`, `ReduceKernelOp` and `MIRRORED` are re-exported
here because many modules reach them as `k.<name>` after `from gedialects.kernel import ops as
k`; new code imports from their own modules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, TypeVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    i32,
)
from xdsl.ir import Attribute
from xdsl.irdl import (
    AttrSizedOperandSegments,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer

from gedialects.ge import ops as ge
from gedialects.ge.base import (
    Props,
    broadcast,
    prop_bool,
    prop_ints,
    require_float,
    require_tensor,
)
from gedialects.ge.ops import I64_ARRAY, UNARY_FORMAT
from gedialects.ge.types import element_of, format_type, shape_of, tensor
from gedialects.kernel.base import KernelOp, check_activation
from gedialects.kernel.casting import CastingKernelOp
from gedialects.kernel.mirrored import MIRRORED
from gedialects.kernel.reductions import POOL_KINDS, REDUCE_KINDS, PoolKernelOp, ReduceKernelOp

TYPES = "attr-dict `:` functional-type(operands, results)"


def _swap_last(cls: type[KernelOp], t: Attribute) -> Attribute:
    shape = shape_of(require_tensor(cls, "operand", t))
    if len(shape) < 2:
        raise cls.fail(f"a transposed operand must have rank >= 2, got {format_type(t)}")
    return tensor((*shape[:-2], shape[-1], shape[-2]), element_of(t))


def _matmul_type(cls: type[KernelOp], a: Attribute, b: Attribute) -> Attribute:
    return ge.MatMulOp.infer_result_types.__func__(cls, [a, b], {})[0]  # type: ignore[attr-defined]


T = TypeVar("T")


@irdl_op_definition
class Conv2DKernelOp(KernelOp):
    """post_act(act((conv(in_act(x), w) + bias) * scale + shift) + residual): conv and epilogue.

    Precisely: y = conv(input_activation(x), w) (the activated image zero-padded);
    y += bias; y = y * scale + shift (batch norm, per output channel); y = activation(y);
    y += residual; y = post_activation(y). Each step is optional. `bias`, `scale`, `shift`
    have shape (O,); `residual` has the result type. `input_activation` is the producer's
    activation moved into this conv's loads (`passes.split_pointwise_convs`).
    """

    name = "kernel.conv2d"
    input = operand_def()
    weight = operand_def()
    bias = opt_operand_def()
    scale = opt_operand_def()
    shift = opt_operand_def()
    residual = opt_operand_def()
    output = result_def()
    strides = prop_def(I64_ARRAY)
    pads = prop_def(I64_ARRAY)
    dilations = prop_def(I64_ARRAY)
    groups = prop_def(IntegerAttr)
    activation = opt_prop_def(StringAttr)
    activation_attrs = opt_prop_def(DictionaryAttr)
    post_activation = opt_prop_def(StringAttr)
    post_activation_attrs = opt_prop_def(DictionaryAttr)
    input_activation = opt_prop_def(StringAttr)
    input_activation_attrs = opt_prop_def(DictionaryAttr)
    irdl_options = (ParsePropInAttrDict(), AttrSizedOperandSegments(as_property=True))
    DEFAULTS: ClassVar[dict] = dict(ge.Conv2DOp.DEFAULTS)
    assembly_format = (
        "$input `,` $weight (`bias` $bias^ `:` type($bias))? (`scale` $scale^ `:` type($scale))?"
        " (`shift` $shift^ `:` type($shift))? (`residual` $residual^ `:` type($residual))?"
        " attr-dict `:` type($input) `,` type($weight) `->` type($output)"
    )

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        check_activation(cls, props, "activation")
        check_activation(cls, props, "post_activation")
        check_activation(cls, props, "input_activation")
        rule = ge.Conv2DOp.infer_result_types.__func__  # type: ignore[attr-defined]
        return rule(cls, operand_types[:2], props)

    def verify_(self) -> None:
        super().verify_()
        channels = shape_of(self.weight.type)[0]
        for what in ("bias", "scale", "shift"):
            value = getattr(self, what)
            if value is not None and value.type != tensor([channels], element_of(self.output.type)):
                raise self.fail(f"{what} must be tensor<{channels}x...> of the result's element")
        if (self.scale is None) != (self.shift is None):
            raise self.fail("scale and shift come together (a folded batch norm)")
        if self.residual is not None and self.residual.type != self.output.type:
            got, want = format_type(self.residual.type), format_type(self.output.type)
            raise self.fail(f"residual {got} must have the result type {want}")


@irdl_op_definition
class MatMulKernelOp(KernelOp):
    """act(alpha * (op(A) @ op(B)) + bias) * multiplier + residual, op = transpose of the
    last two dims if asked. `bias` and `multiplier` (the other half of a gated linear unit,
    LLaMA's silu(x Wg) * (x Wu), or a layer scale) broadcast into the product; `residual` (a
    transformer's skip connection) has the result type. The multiplier and the residual
    apply after the activation, as conv's residual does. The text form names them in
    operand order: `bias`, `residual`, `multiplier`."""

    name = "kernel.matmul"
    lhs = operand_def()
    rhs = operand_def()
    bias = opt_operand_def()
    residual = opt_operand_def()
    multiplier = opt_operand_def()
    output = result_def()
    transpose_a = prop_def(IntegerAttr)
    transpose_b = prop_def(IntegerAttr)
    alpha = prop_def(FloatAttr)
    activation = opt_prop_def(StringAttr)
    activation_attrs = opt_prop_def(DictionaryAttr)
    irdl_options = (ParsePropInAttrDict(), AttrSizedOperandSegments(as_property=True))
    DEFAULTS: ClassVar[dict] = {"transpose_a": False, "transpose_b": False, "alpha": 1.0}
    OPTIONAL: ClassVar[tuple[str, ...]] = ("bias", "residual", "multiplier")
    """The optional operands, in operand order (the trailing operands `present` names)."""

    def __post_init__(self) -> None:
        """The generic form written before `residual` existed has no operandSegmentSizes:
        its third operand, if any, is the bias; one written before `multiplier` existed has
        four segments."""
        segments = self.properties.get("operandSegmentSizes")
        if segments is None and len(self.operands) <= 3:
            sizes = [1, 1, len(self.operands) - 2, 0, 0]
            self.properties["operandSegmentSizes"] = DenseArrayBase.from_list(i32, sizes)
        elif isinstance(segments, DenseArrayBase) and len(segments) == 4:
            sizes = [*segments.get_values(), 0]
            self.properties["operandSegmentSizes"] = DenseArrayBase.from_list(i32, sizes)
        super().__post_init__()

    # `%a, %b [bias %c] [residual %r] {props} : (types) -> type`, written by hand: xDSL's
    # declarative format cannot split `functional-type(operands, ...)` over two optional
    # operands, and the form without a residual must stay what it was.
    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list([self.lhs, self.rhs], printer.print_operand)
        for key in self.OPTIONAL:
            if (value := getattr(self, key)) is not None:
                printer.print_string(f" {key} ")
                printer.print_operand(value)
        segments = "operandSegmentSizes"
        printer.print_op_attributes(
            self.attributes | {k: v for k, v in self.properties.items() if k != segments}
        )
        printer.print_string(" : ")
        printer.print_function_type([o.type for o in self.operands], [self.output.type])

    @classmethod
    def parse(cls, parser: Parser) -> MatMulKernelOp:
        operands = [parser.parse_unresolved_operand()]
        parser.parse_punctuation(",")
        operands.append(parser.parse_unresolved_operand())
        addends: dict[str, UnresolvedOperand] = {}
        for key in cls.OPTIONAL:
            if parser.parse_optional_keyword(key):
                addends[key] = parser.parse_unresolved_operand()
        operands += addends.values()
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        pos = parser.pos
        signature = parser.parse_function_type()
        if len(signature.inputs) != len(operands) or len(signature.outputs) != 1:
            parser.raise_error(
                f"kernel.matmul takes {len(operands)} operand types and one result type",
                pos, parser.pos,
            )  # fmt: skip
        values = parser.resolve_operands(operands, signature.inputs.data, pos)
        known = cls.get_irdl_definition().properties
        properties = {k: attributes.pop(k) for k in list(attributes) if k in known}
        rest = iter(values[2:])
        groups = [*values[:2], *([next(rest)] if k in addends else [] for k in cls.OPTIONAL)]
        return cls.build(
            operands=groups,
            result_types=[signature.outputs.data[0]],
            properties=properties,
            attributes=attributes,
        )

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        check_activation(cls, props, "activation")
        a, b = operand_types[:2]
        if prop_bool(props, "transpose_a"):
            a = _swap_last(cls, a)
        if prop_bool(props, "transpose_b"):
            b = _swap_last(cls, b)
        out = _matmul_type(cls, a, b)
        for addend in operand_types[2:]:  # bias, residual, multiplier: the bias rule holds
            what = f"addend {format_type(addend)} (bias, residual or multiplier)"
            addend = require_tensor(cls, "addend", addend)
            if broadcast(cls, [shape_of(out), shape_of(addend)]) != shape_of(out):
                raise cls.fail(f"{what} would change the result's shape")
            if element_of(addend) != element_of(out):
                raise cls.fail(f"{what} must have the result's element type")
        return [out]

    def verify_(self) -> None:
        super().verify_()
        if self.residual is not None and self.residual.type != self.output.type:
            got, want = format_type(self.residual.type), format_type(self.output.type)
            raise self.fail(f"residual {got} must have the result type {want}")


@irdl_op_definition
class SoftmaxKernelOp(CastingKernelOp):
    """softmax(scale * x) along `axis`; an inference dropout after it is recorded, identity.
    A casting kernel: `cast_to` folds a cast of its input or result into it."""

    name = "kernel.softmax"
    input = operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    scale = prop_def(FloatAttr)
    dropout_ratio = opt_prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"axis": -1, "scale": 1.0}
    assembly_format = UNARY_FORMAT

    @classmethod
    def compute_types(cls, operand_types: Sequence[Attribute], props: Props):
        rule = ge.SoftmaxOp.infer_result_types.__func__  # type: ignore[attr-defined]
        return rule(cls, operand_types, props)


@irdl_op_definition
class AttentionKernelOp(KernelOp):
    """softmax(Q @ K' * scale + mask) @ V along the last axis, K' = Kᵀ if key_transposed.

    With `key_transposed` the key operand is K (..., Sk, d); without, it is already
    (..., d, Sk), as the first matmul of the unfused graph takes it. A dropout after the
    softmax (inference, identity) is recorded in `dropout_ratio`.

    Layouts: with `query_perm` p the op reads Q = transpose(query, p), likewise the key
    operand with `key_perm` (before `key_transposed` swaps it) and V with `value_perm`, and
    with `output_perm` it returns transpose(O, p): the head split and merge around attention
    ((B, S, H, d) <-> (B, H, S, d)) are then no kernels of their own. A perm keeps the last
    axis last (rows of d stay contiguous).
    """

    name = "kernel.attention"
    query = operand_def()
    key = operand_def()
    value = operand_def()
    mask = opt_operand_def()
    output = result_def()
    scale = prop_def(FloatAttr)
    key_transposed = prop_def(IntegerAttr)
    dropout_ratio = opt_prop_def(FloatAttr)
    query_perm = opt_prop_def(I64_ARRAY)
    key_perm = opt_prop_def(I64_ARRAY)
    value_perm = opt_prop_def(I64_ARRAY)
    output_perm = opt_prop_def(I64_ARRAY)
    DEFAULTS: ClassVar[dict] = {"scale": 1.0, "key_transposed": False}
    PERMS: ClassVar[tuple[str, ...]] = ("query_perm", "key_perm", "value_perm", "output_perm")
    OPERAND_PERMS: ClassVar[tuple[tuple[int, str], ...]] = (
        (0, "query_perm"), (1, "key_perm"), (2, "value_perm"),
    )  # fmt: skip
    """The operands a perm reads in place, by operand index."""
    assembly_format = "$query `,` $key `,` $value (`mask` $mask^)? " + TYPES

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        q, k, v = operand_types[:3]
        require_float(cls, "query", q)
        q = _permuted(cls, q, props, "query_perm")
        k = _permuted(cls, k, props, "key_perm")
        v = _permuted(cls, v, props, "value_perm")
        if prop_bool(props, "key_transposed"):
            k = _swap_last(cls, k)
        scores = _matmul_type(cls, q, k)
        if len(operand_types) == 4:
            mask = require_tensor(cls, "mask", operand_types[3])
            if broadcast(cls, [shape_of(scores), shape_of(mask)]) != shape_of(scores):
                raise cls.fail(
                    f"mask {format_type(mask)} would change the scores' shape {format_type(scores)}"
                )
        return [_permuted(cls, _matmul_type(cls, scores, v), props, "output_perm")]

    def perm(self, name: str) -> tuple[int, ...] | None:
        """The permutation `name` (one of PERMS), None when absent (the identity)."""
        return prop_ints(self.properties, name) if name in self.properties else None

    def read_in_place(
        self, values: Sequence[T], transpose: Callable[[T, tuple[int, ...]], T]
    ) -> list[T]:
        """`values` (the operands, or anything standing for them) as the computation reads
        them: each one with a perm through `transpose(value, perm)`."""
        out = list(values)
        for index, name in self.OPERAND_PERMS:
            if (perm := self.perm(name)) is not None:
                out[index] = transpose(out[index], perm)
        return out

    def logical_key(self) -> tuple[int, ...]:
        """The key operand's shape after `key_perm` (K, or K' without `key_transposed`)."""
        return _apply(shape_of(self.key.type), self.perm("key_perm"))

    def logical_shapes(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """The shapes of Q, V and O the computation sees (before / after the layouts)."""
        q, v = (_apply(shape_of(x.type), self.perm(n))
                for x, n in ((self.query, "query_perm"), (self.value, "value_perm")))  # fmt: skip
        perm = self.perm("output_perm")
        return q, v, _apply(shape_of(self.output.type), None if perm is None else inverse(perm))


def _apply(shape: tuple[int, ...], perm: tuple[int, ...] | None) -> tuple[int, ...]:
    return shape if perm is None else permuted(shape, perm)


def permuted(items: Sequence, perm: Sequence[int]) -> tuple:
    """transpose's rule on a shape (or any per-axis list): item i is items[perm[i]]."""
    return tuple(items[p] for p in perm)


def inverse(perm: Sequence[int]) -> tuple[int, ...]:
    """The permutation that undoes `perm`: permuted(permuted(x, perm), inverse(perm)) == x."""
    return tuple(sorted(range(len(perm)), key=perm.__getitem__))


def _permuted(cls: type[KernelOp], t: Attribute, props: Props, name: str) -> Attribute:
    """transpose(t, props[name]) when the op has that perm; checked to keep the last axis."""
    if name not in props:
        return t
    perm, shape = prop_ints(props, name), shape_of(require_tensor(cls, name, t))
    if sorted(perm) != list(range(len(shape))):
        raise cls.fail(f"{name} {list(perm)} is not a permutation of the {len(shape)} axes")
    if perm[-1] != len(shape) - 1:
        raise cls.fail(f"{name} {list(perm)} must keep the last axis last")
    return tensor(_apply(shape, perm), element_of(t))


__all__ = [
    "AttentionKernelOp",
    "Conv2DKernelOp",
    "MIRRORED",
    "MatMulKernelOp",
    "POOL_KINDS",
    "PoolKernelOp",
    "REDUCE_KINDS",
    "ReduceKernelOp",
    "SoftmaxKernelOp",
]
