"""The modeled NPU: hardware targets, the npu interpreter, cost model, profiler, sessions."""
