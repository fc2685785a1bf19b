"""Reference semantics of every `ge` op, in numpy, following ONNX where ONNX defines the op.

One function per op, `REFERENCE[OpClass](op, *arrays) -> array | tuple[array, ...]`. The
interpreter, constant folding and the tests all call these, so an op has one meaning,
written once. Float math runs at least in float32 and is cast back to the result type.

One module per op family, mirroring `gedialects.ge.ops`; `registry` holds `REFERENCE`, the
`@reference` decorator and `evaluate`. Every name is re-exported here, so
`from gedialects.ge.semantics import evaluate` keeps working.
"""

import numpy as np

from gedialects.ge.constant import ConstantOp

# Importing a family registers its ops; REFERENCE lists them in the dialect's order.
# isort: off
from gedialects.ge.semantics.registry import *  # noqa: F403
from gedialects.ge.semantics.elementwise import *  # noqa: F403
from gedialects.ge.semantics.linalg import *  # noqa: F403
from gedialects.ge.semantics.norm import *  # noqa: F403
from gedialects.ge.semantics.pool import *  # noqa: F403
from gedialects.ge.semantics.movement import *  # noqa: F403
from gedialects.ge.semantics.registry import reference
# isort: on


@reference(ConstantOp)
def constant(op: ConstantOp) -> np.ndarray:
    return op.to_numpy()
