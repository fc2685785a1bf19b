"""The `npu` dialect: buffers in memory spaces, DMA, cube and vector instructions, pipe flags."""

from xdsl.ir import Dialect

from gedialects.npu.attrs import BufferType
from gedialects.npu.img2col import Img2ColOp
from gedialects.npu.mask import MASK_OPS
from gedialects.npu.ops import ALL_OPS as _CORE_OPS
from gedialects.npu.scalar import LoadScalarOp
from gedialects.npu.vector import VECTOR_OPS
from gedialects.npu.window import VecWindowOp
from gedialects.npu.window_mla import VecWindowMlaOp

ALL_OPS = [*_CORE_OPS, Img2ColOp, *VECTOR_OPS, VecWindowOp, VecWindowMlaOp, *MASK_OPS, LoadScalarOp]

NPU = Dialect("npu", ALL_OPS, [BufferType])

__all__ = ["NPU", "ALL_OPS", "BufferType"]
