"""`verify_structure` checks what xDSL's `verify` checks, with each kernel op's IRDL
constraints checked once per signature and the op's own checks every time."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdsl.irdl import OpDef
from xdsl.parser import Parser

import gedialects.npu.transfer as transfer
import gedialects.npu.verify as npu_verify
from ge.registry import make_context
from gedialects.npu.verify import verify_npu_module, verify_structure
from runtime.targets import load_target

INVALID = Path(__file__).parents[1] / "filecheck" / "dialects" / "npu" / "invalid.mlir"

DMAS = (
    """func.func @main(%x: !npu.buffer<64x64xf16, hbm>) {
  npu.kernel "k" block_dim = 1 {
  ^bb0(%blk: index):
    %u = npu.alloc : !npu.buffer<16x64xf16, ub>
"""
    + "".join(
        f"    npu.dma %x[{16 * (i % 4)}, 0] [16, 64] -> %u[0, 0] [16, 64] : "
        "!npu.buffer<64x64xf16, hbm> -> !npu.buffer<16x64xf16, ub>\n"
        for i in range(8)
    )
    + """  }
  func.return
}"""
)


def _parse(text: str):
    return Parser(make_context(), text).parse_module()


def _error(check, module) -> tuple[type, str] | None:
    try:
        check(module)
    except Exception as error:  # noqa: BLE001 (the error itself is compared)
        return type(error), str(error)
    return None


@pytest.mark.parametrize("warm", [False, True])
def test_same_errors_as_xdsl_verify_on_invalid_programs(warm: bool):
    cases = INVALID.read_text().split("// -----")
    if warm:  # signatures of valid ops already cached
        verify_structure(_parse(DMAS))
    found = 0
    for case in cases:
        if _error(_parse, case) is not None:
            continue  # refused by the parser already (a malformed type)
        want = _error(lambda m: m.verify(), _parse(case))
        got = _error(verify_structure, _parse(case))
        assert got == want, case
        found += want is not None
    assert found >= 5, "the invalid cases fail xDSL's verify"


def test_irdl_once_per_signature_own_checks_every_time(monkeypatch: pytest.MonkeyPatch):
    calls = {"irdl": 0, "check_dma": 0}
    verify_irdl, check_dma = OpDef.verify, transfer.check_dma

    def counted_irdl(self, op):  # noqa: ANN001
        calls["irdl"] += op.name == "npu.dma"
        return verify_irdl(self, op)

    def counted_check(op):  # noqa: ANN001
        calls["check_dma"] += 1
        return check_dma(op)

    monkeypatch.setattr(OpDef, "verify", counted_irdl)
    monkeypatch.setattr(transfer, "check_dma", counted_check)
    monkeypatch.setattr(npu_verify, "_VERIFIED", set())
    verify_npu_module(_parse(DMAS), load_target())
    assert calls == {"irdl": 4, "check_dma": 8}  # 4 distinct source windows, 8 DMAs
    verify_npu_module(_parse(DMAS), load_target())
    assert calls == {"irdl": 4, "check_dma": 16}


def test_a_bad_window_in_a_known_signature_class_is_still_caught():
    verify_structure(_parse(DMAS))
    bad = DMAS.replace("%x[48, 0] [16, 64]", "%x[56, 0] [16, 64]", 1)
    with pytest.raises(Exception, match="past dim 0"):
        verify_structure(_parse(bad))
