"""Activations: one forward pass per (model, dataset), MLP activations cached as Zarr per layer.

- ``extraction``: tokenization, span alignment, the span reduction and the batched forward pass;
- ``store``: the per-layer Zarr store (written under a temporary name, read by the probe step).
"""
