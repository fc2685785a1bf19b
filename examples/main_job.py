"""The main job (`make run`): build the seed's ResNet block in `ge`, print it, run it.

This grows with the compiler: later stages add fusion, lowering to the NPU dialect,
memory planning and the profile.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from ge.testing import run
from gedialects.ge import AddOp, BatchNormOp, ConstantOp, Conv2DOp, ReluOp
from gedialects.ge.types import tensor


def resnet_basic_block(channels: int = 16, size: int = 14, seed: int = 0) -> ModuleOp:
    """Conv-BN-ReLU, Conv-BN, residual Add, ReLU: the seed's first case study."""
    rng = np.random.default_rng(seed)
    block = Block(arg_types=[tensor([1, channels, size, size], f32)])
    x = block.args[0]
    ops: list = []

    def const(*shape: int, positive: bool = False) -> ConstantOp:
        data = rng.random(shape) + 0.5 if positive else rng.standard_normal(shape) * 0.1
        op = ConstantOp(data.astype(np.float32))
        ops.append(op)
        return op

    def conv_bn(value):
        conv = Conv2DOp(value, const(channels, channels, 3, 3), pads=[1, 1, 1, 1])
        bn = BatchNormOp(
            conv,
            const(channels, positive=True),
            const(channels),
            const(channels),
            const(channels, positive=True),
        )
        ops.extend([conv, bn])
        return bn

    relu1 = ReluOp(conv_bn(x))
    ops.append(relu1)
    add = AddOp(conv_bn(relu1), x)
    relu2 = ReluOp(add)
    ops.extend([add, relu2, func.ReturnOp(relu2)])
    block.add_ops(ops)
    fn = func.FuncOp("main", ((x.type,), (relu2.output.type,)), Region(block))
    module = ModuleOp([fn])
    module.verify()
    return module


def main() -> None:
    module = resnet_basic_block()
    print("== ResNet basic block, high-level `ge` IR ==")
    print(module)
    x = np.random.default_rng(1).standard_normal((1, 16, 14, 14)).astype(np.float32)
    (y,) = run(module, [x])
    print(f"\noutput {y.shape} {y.dtype}: mean {y.mean():.5f}, max {y.max():.5f}")


if __name__ == "__main__":
    main()
