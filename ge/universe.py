"""The `xdsl.universe` entry point: lets stock `xdsl-opt` see our dialects and passes."""

from xdsl.universe import Universe

from ge.registry import all_dialects, all_passes

UNIVERSE = Universe(all_dialects=all_dialects(), all_passes=all_passes())
