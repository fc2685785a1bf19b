"""Test configuration: hypothesis profiles and helpers shared by every test package."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))
# The project root too: without it (`pytest` run as a script, not `python -m pytest`), the
# folder tests/gedialects/kernel became the namespace package `gedialects.kernel`, hiding
# the real one (the editable install's finder maps only top-level packages).
if str(Path(__file__).parent.parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent.parent))

settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "soak",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# A kernel whose npu lowering or run fails (other than "unsupported") is a bug: tests raise it
# instead of letting the runner fall back to the reference as it does for users.
os.environ.setdefault("GE_NPU_STRICT", "1")

# Compiles go to a cache of this session's own (one per xdist worker): no test reads an entry
# an earlier run or another worker left, and none fills the user's ~/.cache/gedialects.
_OWN_CACHE = None if "GE_CACHE_DIR" in os.environ else tempfile.mkdtemp(prefix="ge-test-cache-")
if _OWN_CACHE is not None:
    os.environ["GE_CACHE_DIR"] = _OWN_CACHE


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001 (pytest's hook)
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
