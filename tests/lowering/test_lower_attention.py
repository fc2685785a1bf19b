"""kernel.attention on the modeled NPU (fused and unfused) equals its reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.kernel.ops import inverse, permuted
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable


def _t(shape: tuple[int, ...], dtype: str) -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(lead, sq, sk, d, dv, dtype="f32", mask=None, kt=False, algorithm=None, scale=0.125,  # noqa: ANN001, ANN202
            perms=None, kv_lead=None):  # fmt: skip
    """The module of one kernel.attention; `perms` ({"query_perm": p, ...}) lay Q, K, V and
    O out in HBM as the op's layouts say (the logical shapes are the same); `kv_lead`, the
    lead axes of K and V when they broadcast (grouped-query attention's unit group axis)."""
    kv_lead = lead if kv_lead is None else kv_lead
    q, o, v = (*lead, sq, d), (*lead, sq, dv), (*kv_lead, sk, dv)
    perms = perms or {}
    q, v = (_laid(x, perms.get(n)) for x, n in ((q, "query_perm"), (v, "value_perm")))
    if "output_perm" in perms:
        o = permuted(o, perms["output_perm"])
    k = _laid((*kv_lead, sk, d) if kt else (*kv_lead, d, sk), perms.get("key_perm"))
    shapes = [q, k, v] + ([mask] if mask is not None else [])
    params = ", ".join(f"%a{i}: {_t(s, dtype)}" for i, s in enumerate(shapes))
    operands = "%a0, %a1, %a2" + (" mask %a3" if mask is not None else "")
    algo = f', algorithm = "{algorithm}"' if algorithm else ""
    algo += "".join(f", {n} = array<i64: {', '.join(map(str, p))}>" for n, p in perms.items())
    types = ", ".join(_t(s, dtype) for s in shapes)
    text = f"""func.func @main({params}) -> {_t(o, dtype)} {{
  %o = kernel.attention {operands} {{scale = {scale} : f64, key_transposed = {str(kt).lower()}, fused_from = ["ge.matmul", "ge.softmax", "ge.matmul"]{algo}}} : ({types}) -> {_t(o, dtype)}
  func.return %o : {_t(o, dtype)}
}}"""  # noqa: E501
    return Parser(make_context(), text).parse_module(), shapes


def _laid(logical: tuple[int, ...], perm) -> tuple[int, ...]:  # noqa: ANN001
    """The buffer shape whose transpose by `perm` is `logical`."""
    return logical if perm is None else permuted(logical, inverse(perm))


def _check(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    module, shapes = _module(*args, **kwargs)
    f16 = kwargs.get("dtype") == "f16"
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np.float16 if f16 else np.float32) for s in shapes]
    want = run_reference(module, inputs)[0]
    lowered = lower_module(module)
    result = NpuExecutable(lowered).run(inputs)  # verifies capacities and reports races
    tol = 2e-2 if f16 else 1e-5
    np.testing.assert_allclose(result.outputs[0].astype(np.float32), want, rtol=tol, atol=tol)
    for kernel in result.profile.kernels:
        assert 0 < kernel.roofline_cycles <= kernel.cycles
    return lowered, result


FUSED = (["attention"], ["attention", "attention"])
"""The fused form's kernels: one, or the key splits' and their merge (flash-decoding)."""


def _kernels(lowered) -> list[KernelOp]:  # noqa: ANN001
    return [op for op in lowered.walk() if isinstance(op, KernelOp)]


@st.composite
def problems(draw):  # noqa: ANN201
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    sq, sk = draw(st.integers(1, 70)), draw(st.integers(1, 90))
    d, dv = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    scores = (*lead, sq, sk)
    mask = draw(
        st.sampled_from(
            [None, scores, scores[-2:], (sk,), (*(1 for _ in lead), 1, sk)]
            + ([(lead[0], *(1 for _ in lead[1:]), 1, sk)] if lead else [])
        )
    )
    dtype = draw(st.sampled_from(["f32", "f16"]))
    return dict(lead=lead, sq=sq, sk=sk, d=d, dv=dv, dtype=dtype, mask=mask)


@given(problems(), st.booleans(), st.sampled_from(["fused", "unfused"]))
def test_attention_equals_reference(p: dict, kt: bool, algorithm: str) -> None:
    lowered, _ = _check(**p, kt=kt, algorithm=algorithm)
    names = [k.kind.data for k in _kernels(lowered)]
    # a (.., Sk, d) key transposes on its loads into L0B, fused or not
    assert names in (FUSED if algorithm == "fused" else (["matmul", "softmax", "matmul"],))


@given(st.data(), st.booleans(), st.sampled_from(["fused", "unfused"]))
def test_grouped_keys_and_values_broadcast(data, kt: bool, algorithm: str) -> None:
    """K and V with unit lead axes where Q has heads (grouped-query attention after
    `fuse-attention-layout`, a decoding step's query heads stacked as rows): every item
    reads the K and V of its group."""
    p = data.draw(problems())
    lead = tuple(data.draw(st.integers(low, high)) for low, high in ((1, 2), (1, 3), (2, 4)))
    group = data.draw(st.integers(0, 2))
    kv_lead = tuple(1 if axis == group else n for axis, n in enumerate(lead))
    p["lead"], p["mask"] = lead, data.draw(st.sampled_from([None, (p["sq"], p["sk"])]))
    perms = data.draw(layouts(len(lead) + 2)) if data.draw(st.booleans()) else None
    lowered, _ = _check(**p, kt=kt, algorithm=algorithm, perms=perms, kv_lead=kv_lead)
    if algorithm == "fused":
        assert [k.kind.data for k in _kernels(lowered)] in FUSED


@st.composite
def layouts(draw, rank: int) -> dict:  # noqa: ANN001
    """Perms keeping the last axis last for some of Q, K, V and O."""
    perms = {}
    for name in ("query_perm", "key_perm", "value_perm", "output_perm"):
        if draw(st.booleans()):
            perms[name] = (*draw(st.permutations(range(rank - 1))), rank - 1)
    return perms


@given(st.data(), st.booleans(), st.sampled_from(["fused", "unfused"]))
def test_attention_with_layouts_equals_reference(data, kt: bool, algorithm: str) -> None:
    """Q, K, V and O read and written in other layouts (BERT's (B, S, H, d) among them):
    the fused kernel's windows on the buffers' own axes (K's rows transposed on their way
    into L0B), the unfused form's transposes."""
    p = data.draw(problems())
    p["lead"] = p["lead"] or (data.draw(st.integers(1, 3)),)
    perms = data.draw(layouts(len(p["lead"]) + 2))
    lowered, _ = _check(**p, kt=kt, algorithm=algorithm, perms=perms)
    names = [k.kind.data for k in _kernels(lowered)]
    if algorithm == "fused":
        assert names in FUSED  # no transpose kernel for the layouts


def test_bert_heads_read_in_place_cost_what_the_plain_kernel_costs() -> None:
    """(1, 128, 12, 64) heads in the (B, S, H, d) layout: the fused kernel's cycles equal
    those of the (B, H, S, d) kernel the three transposes used to feed."""
    perm = (0, 2, 1, 3)
    perms = {"query_perm": perm, "value_perm": perm, "output_perm": perm}
    _, plain = _check((1, 12), 128, 128, 64, 64, algorithm="fused")
    lowered, laid = _check((1, 12), 128, 128, 64, 64, algorithm="fused", perms=perms)
    assert [k.kind.data for k in _kernels(lowered)] == ["attention"]
    assert laid.profile.kernels[0].cycles == plain.profile.kernels[0].cycles


def test_bert_key_read_in_place_needs_no_transpose_kernel() -> None:
    """BERT's K (1, 128, 12, 64) read as rows of d (key_transposed, key_perm (0, 2, 1, 3)):
    one kernel, whose MTE1 loads transpose the key tiles, where the (0, 2, 3, 1) transpose
    used to run as a kernel of its own before it."""
    perm = (0, 2, 1, 3)
    perms = {"query_perm": perm, "key_perm": perm, "value_perm": perm, "output_perm": perm}
    _, plain = _check((1, 12), 128, 128, 64, 64, algorithm="fused")
    lowered, laid = _check((1, 12), 128, 128, 64, 64, kt=True, algorithm="fused", perms=perms)
    assert [k.kind.data for k in _kernels(lowered)] == ["attention"]
    assert "transpose" in str(lowered)  # the loads' transposing mode
    cycles = laid.profile.kernels[0].cycles, plain.profile.kernels[0].cycles
    assert cycles[0] <= 1.02 * cycles[1], cycles


def test_bert_head_shape_runs_fused_over_cores() -> None:
    """12 heads of 128 x 64: items spread over the cores, whole rows of Sk in UB."""
    lowered, result = _check((1, 12), 128, 128, 64, 64, dtype="f16", algorithm="fused")
    (kernel,) = _kernels(lowered)
    assert kernel.blocks > 12
    assert result.profile.kernels[0].cube_flops == 2 * 2 * 12 * 128 * 128 * 64


@pytest.mark.parametrize(("lead", "sq", "dtype"), [((1, 1), 16, "f16"), ((1, 4), 4, "f32")])
def test_decoding_step_splits_the_keys_over_the_cores(lead, sq: int, dtype: str) -> None:  # noqa: ANN001
    """Multi-query (16 query heads as rows of one KV head) and grouped-query (4 KV heads of
    4 rows) decoding over 2,048 keys: too few (unit, query tile) items for 32 cores, so the
    keys split over them (flash-decoding) and a second kernel merges the splits."""
    lowered, result = _check(lead, sq, 2048, 128, 128, dtype=dtype, kt=True, algorithm="fused")
    keys, merge = _kernels(lowered)
    assert keys.blocks == 32 and merge.blocks > 1, (keys.blocks, merge.blocks)
    cycles = sum(k.cycles for k in result.profile.kernels)
    roofline = sum(k.roofline_cycles for k in result.profile.kernels)
    assert cycles < 1.9 * roofline, (cycles, roofline)  # one core per item: over 4x


def test_long_sequence_uses_online_softmax() -> None:
    """Rows of 6000 keys do not fit UB: key blocks with the running max and sum."""
    lowered, _ = _check((1,), 24, 6000, 32, 16, mask=(24, 6000), algorithm="fused")
    text = str(lowered)
    assert "npu.vec_dup" in text and text.count("scf.for") >= 3


def test_default_choice_runs_either_form() -> None:
    """Without `algorithm` the lowering runs the form the cost model prefers."""
    _check((2,), 16, 32, 16, 16)
    _check((1, 12), 128, 128, 64, 64, dtype="f16")


def test_refusals_name_the_op() -> None:
    wide, _ = _module((), 32, 32, 4096, 16, algorithm="fused")
    with pytest.raises(UnsupportedError, match="fused kernel.attention with head dims 4096"):
        lower_module(wide)
    negative, _ = _module((), 32, 32, 16, 16, algorithm="fused", scale=-1.0)
    with pytest.raises(UnsupportedError, match="kernel.attention needs a positive scale"):
        lower_module(negative)
