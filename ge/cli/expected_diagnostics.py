"""`ge-opt --verify-diagnostics`: MLIR's `// expected-error` annotations, checked.

An annotation names the line its error is reported on (`@+1` the next line, `@-1` the one
before, `@above`/`@below`, none: its own line, `@unknown`: an error with no location) and a
piece of the message between `{{` and `}}`. Every error ge-opt reports in the chunk must
match an annotation and every annotation an error, as in mlir-opt. A chunk with no
annotations keeps xDSL's meaning of the flag: its error is printed to stdout and is not a
failure (tests FileCheck the message instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANNOTATION = re.compile(
    r"//\s*expected-(?P<kind>error|warning|remark|note)"
    r"\s*(?:@(?P<where>[+-]\d+|above|below|unknown|\d+))?\s*\{\{(?P<text>.*?)\}\}"
)
_LOCATED = re.compile(r":(?P<line>\d+):(?P<column>\d+): error: (?P<text>.*)$")


@dataclass
class Expectation:
    kind: str
    line: int | None
    """The file line the error must be reported on; None for `@unknown`."""
    text: str
    annotated_at: int
    matched: bool = False

    def describe(self) -> str:
        where = "with no location" if self.line is None else f"on line {self.line}"
        return f"expected {self.kind} '{self.text}' {where} was not produced"


def expectations(text: str, first_line: int) -> list[Expectation]:
    """The annotations of a chunk whose first line is file line `first_line` (1-based)."""
    found = []
    for index, line in enumerate(text.splitlines()):
        number = first_line + index
        for match in _ANNOTATION.finditer(line):
            where = match.group("where")
            target: int | None = number
            if where == "unknown":
                target = None
            elif where == "above":
                target = number - 1
            elif where == "below":
                target = number + 1
            elif where is not None and where[0] in "+-":
                target = number + int(where)
            elif where is not None:
                target = int(where)
            found.append(Expectation(match.group("kind"), target, match.group("text"), number))
    return found


def match_error(message: str, expected: list[Expectation]) -> bool:
    """Mark the annotation that `message` (one reported line) satisfies; False if none does."""
    located = _LOCATED.search(message)
    line = int(located.group("line")) if located else None
    body = located.group("text") if located else message.split(" error: ", 1)[-1]
    for expectation in expected:
        fits = expectation.kind == "error" and expectation.line == line
        if fits and not expectation.matched and expectation.text in body:
            expectation.matched = True
            return True
    return False
