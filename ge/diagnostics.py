"""Located, one-line diagnostics for the commands.

xDSL's parser keeps no source location on the ops it builds, so `LocatingParser` records
where each op starts; a verifier failure can then be reported as `file:line:col: error:
...`, as MLIR tools do, instead of a traceback or a dump of the whole module.
"""

from __future__ import annotations

import dataclasses

from xdsl.context import Context
from xdsl.dialects.builtin import FunctionType, ModuleOp, TensorType, UnrankedTensorType
from xdsl.ir import Block, Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException
from xdsl.utils.lexer import Span


class LocatingParser(Parser):
    """A parser that remembers the source span where each operation starts."""

    def __init__(self, ctx: Context, text: str | bytes, name: str = "<input>"):
        super().__init__(ctx, text, name)
        self.locations: dict[Operation, Span] = {}

    def parse_operation(self) -> Operation:
        start = self._current_token.span
        try:
            op = super().parse_operation()
        except ParseError:
            raise
        except DiagnosticException as error:  # built from properties of the wrong kind
            raise ParseError(start, first_line(str(error))) from None
        self.locations[op] = start
        return op

    def parse_module(self, allow_implicit_module: bool = True) -> ModuleOp:
        """xDSL's parser raises plain Python errors on some odd input (`array<i100: 1>`,
        NotImplementedError from the builtin dialect): they become a ParseError at the
        token the parser had reached, like its own errors."""
        try:
            return super().parse_module(allow_implicit_module)
        except (ParseError, DiagnosticException):
            raise
        except Exception as error:
            message = first_line(str(error)) if str(error).strip() else type(error).__name__
            raise ParseError(self._current_token.span, message) from None


def format_parse_error(error: ParseError) -> str:
    line = error.msg.strip().splitlines()[0] if error.msg.strip() else "parse error"
    return f"{error.span.get_location()}: error: {line}"


def first_line(message: str) -> str:
    """The first meaningful line of an exception message."""
    for line in str(message).splitlines():
        line = line.strip()
        if line and not set(line) <= {"^", "-", " "}:
            return line
    return str(message).strip() or "error"


def verify_located(
    module: ModuleOp, locations: dict[Operation, Span], name: str, line_offset: int = 0
) -> None:
    """Verify every op innermost-first, and that each operand is defined before its use;
    raise a one-line located DiagnosticException."""
    positions = _positions(module)
    for op in module.walk(reverse=True):
        try:
            op.verify(verify_nested_ops=False)
            _check_static_shapes(op)
            _check_dominance(op, positions)
        except DiagnosticException as error:
            cause = error.__cause__ if isinstance(error.__cause__, Exception) else error
            message = first_line(str(cause).replace("Operation does not verify: ", ""))
            span = locations.get(op)
            if span is not None:
                where = dataclasses.replace(span, line_offset=line_offset).get_location()
            else:
                where = f"{name}: in '{op.name}'"
            raise VerifyException(f"{where}: error: {message}") from None


def _check_static_shapes(op: Operation) -> None:
    """Every tensor an op defines or takes has a static shape. A `?` dimension parsed and
    verified, then surfaced deep in the passes as a dimension of -2**63 (and was written
    into ONNX as such): the compiler plans buffers and tiles from static shapes, and
    dynamic batch sizes are served by shape gears instead."""
    types = [*op.result_types]
    types += [arg.type for region in op.regions for block in region.blocks for arg in block.args]
    function_type = getattr(op, "function_type", None)
    if isinstance(function_type, FunctionType):
        types += [*function_type.inputs.data, *function_type.outputs.data]
    for type_ in types:
        if isinstance(type_, UnrankedTensorType) or (
            isinstance(type_, TensorType) and any(dim < 0 for dim in type_.get_shape())
        ):
            raise VerifyException(
                f"'{op.name}': {type_} has a dynamic shape; ge compiles static shapes "
                "(give the input a fixed size, or serve batch sizes with shape gears)"
            )


def _positions(module: ModuleOp) -> dict[Operation, int]:
    """Each op's index in its block (xDSL's `is_before_in_block` walks the block: quadratic)."""
    return {
        inner: i
        for op in module.walk()
        for region in op.regions
        for block in region.blocks
        for i, inner in enumerate(block.ops)
    }


def _check_dominance(op: Operation, positions: dict[Operation, int]) -> None:
    """Each operand of `op` is a result of an op before it (or before the op enclosing it) in
    an enclosing block, or an argument of an enclosing block. The parser takes forward
    references (graph regions do), so `%y = ge.add %x, %c` above `%c = ...` parsed and later
    failed as a KeyError in the lowering or the interpreter. Multi-block regions, whose
    dominance follows their branches, are not checked."""
    for index, value in enumerate(op.operands):
        owner = value.owner
        block = owner if isinstance(owner, Block) else owner.parent_block()
        region = block.parent if block is not None else None
        if region is None or len(region.blocks) > 1:
            continue
        user: Operation | None = op
        while user is not None and user.parent_block() is not block:
            user = user.parent_op()
        defined = user is not None and (
            isinstance(owner, Block) or positions.get(owner, 0) < positions.get(user, 0)
        )
        if not defined:
            name = f"%{value.name_hint}" if value.name_hint else f"operand #{index}"
            raise VerifyException(f"'{op.name}': {name} is used before it is defined")
