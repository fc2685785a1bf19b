"""`npu.img2col`: MTE1's load of a convolution's input patches from L1 into a cube operand.

The DaVinci core unfolds a feature map into the rows of a matrix on its way from L1 to L0A (or
L0B), so a convolution runs on the cube as a matmul. The feature map in L1 is one image in
NC1HWC0, (1, C1, H, W, 16). Its patch matrix X has one row per output pixel (ho * Wo + wo) and
one column per (c1, kh, kw, c0), the K order of FRACTAL_Z weights; pixels in the padding read
zero. The instruction writes `dst[:m, :k] = X[m0 : m0 + m, k0 : k0 + k]`, zero past X's edges.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DYNAMIC_INDEX, DenseArrayBase, IndexType, i64
from xdsl.dialects.utils.dynamic_index_list import DynamicIndexList
from xdsl.ir import SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    prop_def,
    var_operand_def,
)

from gedialects.npu.attrs import FRACTAL, BufferType
from gedialects.npu.base import I64_ARRAY, NpuOp, mixed, split_mixed
from gedialects.npu.checks import check_space, require_kernel, static_list


def conv_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + pad - dilation * (kernel - 1) - 1) // stride + 1


@irdl_op_definition
class Img2ColOp(NpuOp):
    """Load rows [m0, m0 + m) and columns [k0, k0 + k) of a feature map's patch matrix."""

    name = "npu.img2col"
    src = operand_def(BufferType)
    dst = operand_def(BufferType)
    offsets = var_operand_def(IndexType)
    sizes = var_operand_def(IndexType)
    static_offsets = prop_def(I64_ARRAY)
    static_sizes = prop_def(I64_ARRAY)
    kernel = prop_def(I64_ARRAY)
    strides = prop_def(I64_ARRAY)
    pads = prop_def(I64_ARRAY)
    dilations = prop_def(I64_ARRAY)
    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    custom_directives = (DynamicIndexList,)
    assembly_format = (
        "$src custom<DynamicIndexList>($offsets, $static_offsets) `->` $dst"
        " custom<DynamicIndexList>($sizes, $static_sizes) attr-dict `:` type($src) `->` type($dst)"
    )

    def __init__(
        self,
        src: SSAValue,
        dst: SSAValue,
        offsets: Sequence[int | SSAValue],
        sizes: Sequence[int | SSAValue],
        *,
        kernel: Sequence[int],
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        dilations: Sequence[int] = (1, 1),
    ):
        (so, do), (ss, ds) = split_mixed(offsets), split_mixed(sizes)
        props = {"static_offsets": so, "static_sizes": ss}
        for key, value in (("kernel", kernel), ("strides", strides), ("pads", pads)):
            props[key] = DenseArrayBase.from_list(i64, list(value))
        props["dilations"] = DenseArrayBase.from_list(i64, list(dilations))
        super().__init__(operands=[src, dst, do, ds], properties=props)

    @property
    def window(self) -> tuple[list, list]:
        return mixed(self.static_offsets, self.offsets), mixed(self.static_sizes, self.sizes)

    def geometry(self) -> tuple[tuple[int, ...], ...]:
        """(kernel, strides, pads (top, bottom, left, right), dilations, output (Ho, Wo))."""
        kh, kw = static_list(self.kernel)
        sh, sw = static_list(self.strides)
        pt, pb, pl, pr = static_list(self.pads)
        dh, dw = static_list(self.dilations)
        src = self.src.type
        assert isinstance(src, BufferType)
        h, w = src.dims[2], src.dims[3]
        out = (
            conv_output_size(h, kh, sh, pt + pb, dh),
            conv_output_size(w, kw, sw, pl + pr, dw),
        )
        return (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw), out

    def verify_(self) -> None:
        require_kernel(self)
        src = check_space(self, "source", self.src.type, ("l1",))
        dst = check_space(self, "destination", self.dst.type, ("l0a", "l0b"))
        if src.format_name != "NC1HWC0" or src.dims[0] != 1:
            raise self.fail(f"the source is one image in NC1HWC0, got {src}")
        if dst.format_name != "FRACTAL_NZ" or len(dst.dims) != 2:
            raise self.fail(f"the destination is a 2-D FRACTAL_NZ matrix, got {dst}")
        if src.element_type != dst.element_type:
            raise self.fail("img2col keeps the element type")
        lists = [static_list(getattr(self, k)) for k in ("kernel", "strides", "dilations")]
        if any(len(v) != 2 or min(v) < 1 for v in lists) or len(static_list(self.pads)) != 4:
            raise self.fail("kernel, strides, dilations are 2 positive ints; pads are 4")
        if min(static_list(self.pads)) < 0 or min(self.geometry()[4]) < 1:
            raise self.fail("the padding is negative or the kernel does not fit the feature map")
        sizes = static_list(self.static_sizes)
        if len(sizes) != 2 or len(static_list(self.static_offsets)) != 2:
            raise self.fail("offsets are [m0, k0] and sizes [m, k]")
        for size, dim in zip(sizes, dst.dims):
            if size != DYNAMIC_INDEX and not 0 < size <= dim:
                raise self.fail(f"size {size} does not fit the destination {dst}")
        assert src.dims[-1] == FRACTAL
