"""Summaries: polars tables built from probe result rows only (the result schema).

- ``tables``: per-model, best-layer, neuron, scaling and dynamics tables;
- ``neurons``: reading the neuron tables (the case studies' and ablation's input);
- ``training``: the same tables along a checkpoint (training) axis.
"""
