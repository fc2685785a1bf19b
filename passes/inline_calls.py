"""Inline `func.call`s of functions the module defines, so that one function holds the graph.

Fusion, memory planning, stream scheduling and the npu lowering all see one function at a
time: a helper function called from `main` was run by the reference interpreter (xDSL's
func.call) but fell out of the compiled path ('func.call' has no lowering). Like MLIR's
inliner, a private function left without callers is removed; a public one stays (it may be
an entry of its own). Recursion cannot be inlined and is refused, naming the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass

from gedialects.errors import GeError


class InlineError(GeError):
    """A call that cannot be inlined (unknown callee, no body, recursion)."""


def _functions(module: ModuleOp) -> dict[str, func.FuncOp]:
    return {op.sym_name.data: op for op in module.ops if isinstance(op, func.FuncOp)}


def _callees(function: func.FuncOp) -> list[str]:
    return [op.callee.root_reference.data for op in function.walk() if isinstance(op, func.CallOp)]


def _check_acyclic(functions: dict[str, func.FuncOp]) -> None:
    """Refuse recursion (direct or through other functions), naming the cycle."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = " -> ".join(f"@{n}" for n in [*path[path.index(name) :], name])
            raise InlineError(f"recursive calls cannot be inlined: {cycle}")
        if name in done or name not in functions:
            return
        for callee in _callees(functions[name]):
            visit(callee, [*path, name])
        done.add(name)

    for name in functions:
        visit(name, [])


def inline_call(call: func.CallOp, callee: func.FuncOp) -> None:
    """Put a copy of `callee`'s body where `call` is, its results in place of the call's."""
    if not callee.body.blocks:
        raise InlineError(f"func.call @{callee.sym_name.data}: the function has no body")
    if len(callee.body.blocks) != 1:
        raise InlineError(f"func.call @{callee.sym_name.data}: a body of several blocks")
    body = callee.body.block
    mapping: dict[SSAValue, SSAValue] = dict(zip(body.args, call.arguments, strict=True))
    block = call.parent_block()
    assert block is not None
    for op in body.ops:
        if isinstance(op, func.ReturnOp):
            results = [mapping.get(value, value) for value in op.arguments]
            for old, new in zip(call.results, results, strict=True):
                if old.name_hint and not new.name_hint:
                    new.name_hint = old.name_hint
                old.replace_all_uses_with(new)
            break
        block.insert_op_before(op.clone(mapping), call)
    call.detach()
    call.erase()


def with_calls_inlined(module: ModuleOp) -> ModuleOp:
    """`module` itself when it calls none of its functions, else an inlined copy (for the
    consumers of one function that must not change the user's module: export, eager)."""
    if not any(isinstance(op, func.CallOp) for op in module.walk()):
        return module
    module = module.clone()
    InlineCalls().apply(Context(), module)
    return module


@dataclass(frozen=True)
class InlineCalls(ModulePass):
    """Inline calls of the module's own functions (the compiled path sees one function)."""

    name = "inline-calls"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        functions = _functions(op)
        _check_acyclic(functions)
        called: set[str] = set()
        for function in functions.values():
            while calls := [c for c in function.walk() if isinstance(c, func.CallOp)]:
                for call in calls:
                    name = call.callee.root_reference.data
                    if name not in functions:
                        raise InlineError(f"func.call @{name}: no such function in the module")
                    called.add(name)
                    inline_call(call, functions[name])
        for name in called:
            function = functions[name]
            if function.sym_visibility is not None and function.sym_visibility.data == "private":
                function.detach()
                function.erase()
