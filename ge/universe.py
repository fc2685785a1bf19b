"""The `xdsl.universe` entry point: lets stock `xdsl-opt` see our dialects and passes.

A broken pass plugin must not break every xDSL tool on the machine: it is left out here,
and `ge-opt` reports it (`passes.plugins.load_plugins`).
"""

from xdsl.universe import Universe

from ge.registry import all_dialects, all_passes

UNIVERSE = Universe(all_dialects=all_dialects(), all_passes=all_passes(strict=False))
