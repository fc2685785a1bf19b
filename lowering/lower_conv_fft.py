"""kernel.conv2d {algorithm = "fft"} -> npu: DFTs as matrix products on the cube.

The transforms run on the cube, as DFT matrices (`lowering.dft`): a DFT of size n is an n x n
GEMM, and the cube is the only unit with the throughput for it (the vector unit would pay a
multiply-add per matrix entry). With P x Q the padded image and Qf = Q // 2 + 1 (real input):
1. (f16 only) the input is cast to f32: the DFT matrices are f32, and the cube's f32 mode
   wants both operands f32.
2. T = x (N*C*H, W) @ [cos | -sin] (W, 2 Qf): the rows' DFT, one GEMM over every row.
3. X = A (2P, 2H) @ T[n, c] (2H, Qf): the columns' DFT of the complex T as one real GEMM over
   stacked (re, im) blocks, batched over (n, c); the padding is folded into A and B.
4. The weights' spectra W (O, C/groups, 2, P*Qf): computed at compile time in numpy when the
   weights are an `npu.hbm_constant` (a new constant), else by steps 1-3 on the weights with
   the matrices of the flipped, dilated kernel, in kernels before the others.
5. Y[n, o] = sum_c W[o, c] X[n, c] per frequency bin, complex, on the vector unit
   (`lowering.conv_fft_mix`).
6. Z = E (2 OH, 2P) @ Y[n, o] (2P, Qf): the inverse over rows, only the OH rows the conv
   keeps (crop and stride folded into E).
7. y = Z[n, o] (OH, 2 Qf) @ G (2 Qf, OW): the inverse over columns to the real output (the
   kept OW columns), with the conv epilogue (bias, scale/shift, activations, residual) on the
   vector unit as the GEMM's epilogue, into the output.
Every GEMM is `lowering.gemm.emit_gemm` (tiles from the target's capacities, spread
over the cores, double-buffered K loop); the intermediates are f32 HBM temporaries.

Why the channel sum on the vector unit: it reads the weights' spectra, 8 bytes per bin per
(o, c) pair (2 P Qf / k^2 times the weights' size), and that HBM read bounds it on either
unit. The cube would run it as a batched GEMM over the P*Qf bins of (N x 2C) @ (2C x 2O)
blocks, which needs the spectra transposed to put the bins outermost (two more kernels over
X and Y, and the runtime weights' spectra rearranged with sign flips), pads N to 16 rows
(N = 1 at inference) and issues one tiny GEMM per bin; its pipes would be about half as busy
as the vector unit's 8 lane-ops per complex multiply-add at N = 1, but both stay below the
HBM time, so the vector form, which reads the spectra in the layout steps 3 and 6 use, is
the simpler one at the same speed (figures: `benchmarks/bench_conv_fft.py`, docs/npu.md).
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import StringAttr, f32
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.kernel.ops import Conv2DKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp, ReshapeOp, constant_array
from gedialects.npu.launch import KernelOp
from lowering import dft
from lowering.conv_fft_mix import ChannelSum, cast_kernel
from lowering.gemm import emit_gemm
from lowering.lower_conv import conv_epilogue_steps, refuse_input_activation
from lowering.registry import lowers
from runtime.targets import Target


def _by_fft(op: Conv2DKernelOp) -> bool:
    return op.algorithm is not None and op.algorithm.data == "fft"


class _Emitter:
    """Appends the HBM buffers, views and kernels of one FFT convolution to `ops`."""

    def __init__(self, op: Conv2DKernelOp, target: Target, name: str):
        self.op, self.target, self.name = op, target, name
        self.ops: list[Operation] = []
        self.fused = op.fused_names

    def view(self, value: SSAValue, dims: tuple[int, ...]) -> SSAValue:
        if tuple(value.type.dims) == tuple(dims):
            return value
        view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
        self.ops.append(view)
        return view.result

    def temp(self, dims: tuple[int, ...]) -> SSAValue:
        alloc = HbmAllocOp(BufferType(dims, f32, "hbm"))
        self.ops.append(alloc)
        return alloc.buffer

    def constant(self, array: np.ndarray) -> SSAValue:
        array = np.ascontiguousarray(array, np.float32)
        const = HbmConstantOp.from_array(array, f32)
        self.ops.append(const)
        return const.buffer

    def gemm(self, a: SSAValue, b: SSAValue, out: SSAValue, step: str, steps=()) -> None:  # noqa: ANN001
        name = self.name if step == "" else f"{self.name}_{step}"
        self.ops.append(emit_gemm(a, b, out, self.target, name, self.fused, "conv2d", [*steps]))

    def as_f32(self, value: SSAValue, rows: int, cols: int, step: str) -> SSAValue:
        """`value` viewed (rows, cols), cast to f32 by a kernel when it is f16."""
        value = self.view(value, (rows, cols))
        if value.type.element_type == f32:
            return value
        out = self.temp((rows, cols))
        self.ops.append(cast_kernel(value, out, self.target, f"{self.name}_{step}"))
        return out

    def spectra(self, value: SSAValue, rows: np.ndarray, cols: np.ndarray, pq, step: str):  # noqa: ANN001
        """The 2-D spectra (batch, 2, P*Qf) of (batch, len(rows), len(cols)) real images whose
        sample positions in the P x Q transform are `rows`, `cols`: steps 2 and 3."""
        (p, q), batch = pq, value.type.dims[0] * value.type.dims[1]
        h, w, qf = len(rows), len(cols), dft.half(q)
        x = self.as_f32(value, batch * h, w, f"{step}_f32")
        t = self.temp((batch * h, 2 * qf))
        self.gemm(x, self.constant(dft.forward_cols(cols, q)), t, f"{step}_cols")
        spec = self.temp((batch, 2 * p, qf))
        self.gemm(self.constant(dft.forward_rows(rows, p)), self.view(t, (batch, 2 * h, qf)), spec,
                  f"{step}_rows")  # fmt: skip
        return spec


@lowers(Conv2DKernelOp, when=_by_fft)
def lower_conv2d_fft(
    op: Conv2DKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    refuse_input_activation(op, "fft")
    element = inputs[0].type.element_type
    if str(element) not in ("f16", "f32"):
        raise UnsupportedError(f"{op.name} (algorithm=fft) on {element} has no cube mode")
    n, c, h, w = inputs[0].type.dims
    o, cg, kh, kw = inputs[1].type.dims
    oh, ow = output.type.dims[2:]
    pt, pl, pb, pr = op.ints("pads")
    (sh, sw), (dh, dw) = op.ints("strides"), op.ints("dilations")
    p, q = h + pt + pb, w + pl + pr
    pq, bins = (p, q), p * dft.half(q)
    e = _Emitter(op, target, name)
    spec_x = e.spectra(inputs[0], np.arange(h) + pt, np.arange(w) + pl, pq, "x")
    weights = _constant_weights(inputs[1])
    if weights is not None:
        spec_w = e.constant(dft.weight_spectra(weights, p, q, (dh, dw)))
    else:
        rows, cols = dft.kernel_positions(kh, dh), dft.kernel_positions(kw, dw)
        spec_w = e.view(e.spectra(inputs[1], rows, cols, pq, "w"), (o, cg, 2, bins))
    spec_y = e.temp((n, o, 2, bins))
    mix = ChannelSum(e.view(spec_x, (n, c, 2, bins)), spec_w, spec_y, op.get_int("groups"), target)
    e.ops.append(mix.emit(f"{name}_mix", e.fused))
    z = e.temp((n * o, 2 * oh, dft.half(q)))
    inv_rows = dft.inverse_rows(dh * (kh - 1) + sh * np.arange(oh), p)
    e.gemm(e.constant(inv_rows), e.view(spec_y, (n * o, 2 * p, dft.half(q))), z, "inv_rows")
    inv_cols = e.constant(dft.inverse_cols(dw * (kw - 1) + sw * np.arange(ow), q))
    steps = conv_epilogue_steps(op, inputs[2:], (n, o, oh, ow), e.ops)
    e.gemm(e.view(z, (n, o, oh, 2 * dft.half(q))), inv_cols, output, "", steps)
    for kernel in e.ops:
        if isinstance(kernel, KernelOp):
            kernel.properties["algorithm"] = StringAttr("fft")
    return e.ops


def _constant_weights(value: SSAValue) -> np.ndarray | None:
    """The weights' data when they are a constant whose values the compiler holds."""
    array = constant_array(value)
    return None if array is None else np.asarray(array, np.float64)
