"""Memory planning: liveness of HBM tensors, offset planners, the verifier and statistics."""
