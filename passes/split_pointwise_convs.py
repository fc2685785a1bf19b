"""`split-pointwise-convs`: let a deep pointwise conv split K by moving its activation into
the conv that consumes it.

A pointwise (1x1) conv on a small image with many input channels (ResNet-50's 1024 -> 256 on
14x14) is bound by its cores' loads: each core reads whole K panels of the weights and the
image, together ~5.7x the kernel's compulsory bytes. Splitting K over groups of cores
(`lowering.tiling.choose_matmul_split`) divides those reads, but its parts add into the
output atomically, so nothing may follow the sum: an activation needs the whole of it. When
the conv's only user is an img2col conv, which stages its input rows through UB anyway,
that consumer can apply the activation there (`kernel.conv2d {input_activation}`, a vector
op per staged chunk), and the producer is left with a bias, which the split's init kernel
writes: y = act(conv1(x) + b); z = conv2(y) becomes y = conv1(x) + b (split);
z = conv2{input_activation = act}(y), the same z.

Moved only where the split pays on the target (the lowering's own test, `pointwise_split`,
so the lowering then splits it), the activation keeps zero (`conv_im2col.keeps_zero`: what
the consumer's staging clears as padding stays zero), and the consumer's lowering is
img2col with staged rows (a conv that is not itself pointwise, its algorithm img2col).
Pre: `select-implementations` has chosen the convs' algorithms. Post: the moved activation's
provenance (`fused_from`) is the consumer's.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr
from xdsl.passes import ModulePass

from gedialects.ge.types import element_of, shape_of
from gedialects.kernel.base import ACTIVATIONS
from gedialects.kernel.ops import Conv2DKernelOp
from lowering.conv_im2col import keeps_zero
from lowering.lower_conv import by_im2col, is_pointwise, pointwise_split
from runtime.targets import Target, load_target


def _consumer(op: Conv2DKernelOp) -> Conv2DKernelOp | None:
    """The img2col conv that is the only user of `op`'s result, as its input, if any."""
    uses = list(op.output.uses)
    if len(uses) != 1 or uses[0].index != 0:
        return None
    user = uses[0].operation
    if not isinstance(user, Conv2DKernelOp) or user.input_activation is not None:
        return None
    f32 = str(element_of(user.input.type)) == "f32"
    return user if f32 and by_im2col(user) and not is_pointwise(user) else None


def movable(op: Conv2DKernelOp, target: Target) -> Conv2DKernelOp | None:
    """The consumer that would take `op`'s activation so that `op` splits K, or None."""
    name = op.activation
    if name is None or not by_im2col(op) or not is_pointwise(op) or op.bias is None:
        return None
    if not keeps_zero(name.data, op.activation_attrs):
        return None
    others = (op.scale, op.residual, op.post_activation, op.input_activation)
    if any(value is not None for value in others) or shape_of(op.input.type)[0] != 1:
        return None
    consumer = _consumer(op)
    if consumer is None or pointwise_split(target, op) is None:
        return None
    return consumer


def _move_provenance(producer: Conv2DKernelOp, consumer: Conv2DKernelOp, name: str) -> None:
    """The activation's high-level op (its last mention in the producer's `fused_from`)
    is now the consumer's first."""
    names = producer.fused_names
    op_name = ACTIVATIONS[name].name
    if op_name not in names or len(names) == 1:
        return
    last = len(names) - 1 - names[::-1].index(op_name)
    kept = names[:last] + names[last + 1 :]
    producer.properties["fused_from"] = ArrayAttr([StringAttr(n) for n in kept])
    moved = [op_name, *consumer.fused_names]
    consumer.properties["fused_from"] = ArrayAttr([StringAttr(n) for n in moved])


def sink_activation(producer: Conv2DKernelOp, consumer: Conv2DKernelOp) -> None:
    """Move `producer`'s activation (and its attributes) to `consumer`'s input."""
    name = producer.activation.data
    _move_provenance(producer, consumer, name)
    consumer.properties["input_activation"] = producer.properties.pop("activation")
    attrs = producer.properties.pop("activation_attrs", None)
    if attrs is not None:
        consumer.properties["input_activation_attrs"] = attrs


@dataclass(frozen=True)
class SplitPointwiseConvs(ModulePass):
    """Move a deep pointwise conv's activation into its consuming conv so that it splits K."""

    name = "split-pointwise-convs"

    target: str = "ascend910a"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = load_target(self.target)
        for conv in [c for c in op.walk() if isinstance(c, Conv2DKernelOp)]:
            consumer = movable(conv, target)
            if consumer is not None:
                sink_activation(conv, consumer)
