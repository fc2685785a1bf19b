"""The `ge` graph dialect's ops: framework-level ops on static-shaped tensors.

One module per family: `elementwise`, `linalg` (matmul, convolutions), `norm` (normalization
and activation over an axis), `pool` (pools and reductions), `movement` (data movement);
what several share is in `common`. Families share an abstract base (elementwise unary and
binary, comparisons, reductions, pools), so each concrete op is a name and, where it
differs, its type rule. The reference meaning of every op lives in `gedialects.ge.semantics`;
ONNX's definition is followed wherever ONNX defines the op.

Every name is re-exported here, so `from gedialects.ge.ops import AddOp` keeps working.
`FAMILIES` is the dialect's op order: `gedialects.ge.ALL_OPS` lists each family's ops in
definition order; a new family module is added to it.
"""

# Imported in definition order, as the single module had them.
# isort: off
from gedialects.ge.ops import elementwise, linalg, norm, pool, movement
from gedialects.ge.ops.common import *  # noqa: F403
from gedialects.ge.ops.elementwise import *  # noqa: F403
from gedialects.ge.ops.linalg import *  # noqa: F403
from gedialects.ge.ops.norm import *  # noqa: F403
from gedialects.ge.ops.pool import *  # noqa: F403
from gedialects.ge.ops.movement import *  # noqa: F403
# isort: on

FAMILIES = (elementwise, linalg, norm, pool, movement)
"""The op modules, in the order the dialect lists their ops."""
