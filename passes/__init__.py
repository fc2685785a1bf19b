"""Transformations within one IR level, and the pass registry."""
