"""What NC1HWC0 activations between kernels would buy ResNet-50's im2col convs (a what-if).

Each im2col conv converts its own input rows: NCHW HBM -> UB (MTE2), `npu.trans_data` to
NC1HWC0 (V), UB -> L1 (MTE3). GE keeps activations in NC1HWC0 between cube kernels
instead (a layout pass with format transfers at the graph's edges). Before building that
pass, this asks the conv tiling's own estimate (`lowering.conv_tiling`, within ~12% of the
interpreter's modeled cycles) what each 3x3 layer of ResNet-50 (ascend910a, f32, batch 1)
costs with its rows staged through UB and with them already in NC1HWC0 (`ConvShape.staged`
False: no V or MTE3 for them), each at its own best tile.

    .venv/bin/python benchmarks/bench_conv_formats.py
"""

from __future__ import annotations

import dataclasses

from lowering.conv_im2col_shape import ConvShape
from lowering.conv_tiling import choose_conv_tile
from runtime.targets import default_target

LAYERS = (  # (C in, H = W, C out, stride, layers of this shape)
    (64, 56, 64, 1, 3),
    (128, 56, 128, 2, 1),
    (128, 28, 128, 1, 3),
    (256, 28, 256, 2, 1),
    (256, 14, 256, 1, 5),
    (512, 14, 512, 2, 1),
    (512, 7, 512, 1, 2),
)


def _shape(c: int, hw: int, o: int, stride: int) -> ConvShape:
    """A 3x3 conv with padding 1 and a bias (an epilogue operand per channel), f32."""
    out = (hw + 2 - 3) // stride + 1
    return ConvShape(
        c, hw, hw, 9, out * out, o, 1, 4, ((True, False),), out, stride, 3, (1, 1), kh=3
    )


def main() -> None:
    target = default_target()
    print(f"{'layer':<22}{'count':>6}{'staged':>10}{'NC1HWC0':>10}{'ratio':>8}")
    totals = [0.0, 0.0]
    for c, hw, o, stride, count in LAYERS:
        shape = _shape(c, hw, o, stride)
        staged = choose_conv_tile(target, shape).estimate
        laid = choose_conv_tile(target, dataclasses.replace(shape, staged=False)).estimate
        totals[0] += count * staged
        totals[1] += count * laid
        name = f"{c}->{o} {hw}x{hw} s{stride}"
        print(f"{name:<22}{count:>6}{staged:>10.0f}{laid:>10.0f}{laid / staged:>8.3f}")
    print(f"{'all 3x3 layers':<22}{'':>6}{totals[0]:>10.0f}{totals[1]:>10.0f}"
          f"{totals[1] / totals[0]:>8.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
