"""Report: what a person looks at, drawn from the summary tables.

- ``plots``: the per-model and per-family figures;
- ``case_studies``: each model's top neurons, activation histograms and top contexts (HTML);
- ``ablation``: zero-ablation of a feature's best neuron, in-class vs out-of-class loss.
"""
