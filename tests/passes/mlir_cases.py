"""The cases of a pass's FileCheck file, as modules, to run them before and after the pass.

A FileCheck test proves the IR has the expected shape; running the same cases through the
reference interpreter proves the rewritten IR still computes what the original did.
"""

from __future__ import annotations

from pathlib import Path

from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from ge.testing.equivalence import default_context

FILECHECK_PASSES = Path(__file__).parent.parent / "filecheck" / "passes"


def filecheck_cases(pass_name: str) -> list[tuple[str, str]]:
    """(function name, source) of each `// -----` chunk of `<pass_name>.mlir` that can run."""
    text = (FILECHECK_PASSES / f"{pass_name}.mlir").read_text()
    cases = []
    for chunk in text.split("// -----"):
        if "elided<" in chunk or "no_fold_invalid" in chunk or "func.func @" not in chunk:
            continue  # elided constants have no data; an invalid index cannot run
        name = chunk.split("func.func @", 1)[1].split("(", 1)[0]
        cases.append((name, chunk))
    return cases


def parse_case(source: str) -> ModuleOp:
    return Parser(default_context(), source).parse_module()
