"""Interpreter functions for the control flow the ONNX importer emits.

Recurrent layers become `scf.for` loops (bounds from `arith.constant` of `index` type)
whose bodies use `ge.extract_step` / `ge.insert_step`; ONNX If becomes `scf.if` on a
boolean read with `tensor.extract`. xDSL's own scf and arith functions run the loops and
constants; the ge loop ops and `tensor.extract` get numpy implementations here.
`gedialects.interpreter.make_interpreter` imports this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.dialects import tensor
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.arith import ArithFunctions
from xdsl.interpreters.scf import ScfFunctions

from gedialects.ge import sequence
from gedialects.interpreter import reference_functions, register_reference_functions


@register_impls
class TensorExtractFunctions(InterpreterFunctions):
    """`tensor.extract` on numpy arrays (xDSL's tensor functions use ShapedArray)."""

    @impl(tensor.ExtractOp)
    def run_extract(self, interpreter: Interpreter, op: tensor.ExtractOp, args: Any):
        array, *indices = args
        return (np.asarray(array)[tuple(int(i) for i in indices)].item(),)


for functions in (
    ScfFunctions,
    ArithFunctions,
    TensorExtractFunctions,
    reference_functions(sequence.REFERENCE, "GeLoopFunctions"),
):
    register_reference_functions(functions)
