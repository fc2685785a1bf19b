"""Conversions between IR levels (ge -> kernel -> npu), bufferization and tiling."""
