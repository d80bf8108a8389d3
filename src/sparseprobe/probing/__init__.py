"""Probing: k-sparse probes on one cached layer, written as long-format result rows.

- ``selection``: neuron selection methods and controls (rankings, telescope, pruning, ...);
- ``optimal``: optimal sparse probing (exact MIP by outer approximation, HiGHS);
- ``engine``: the batched Newton solver for logistic probes (numpy or torch);
- ``splits``: train / validation / test per feature, and its design matrices on a layer;
- ``metrics``: what a probe's predictions score (sklearn.metrics' definitions, bootstrap);
- ``sweep``: the per-layer sweep over features, methods and k;
- ``results``: the result schema every later stage reads.
"""
