"""sparseprobe: k-sparse probing of MLP neurons across layers and model scale.

One subpackage per stage; data flows one way and imports only run downhill:

``sources`` (pinned registry packages)
-> ``datasets`` (feature datasets: text + span + labels + split)
-> ``models`` (the model catalogue's loader, hardware, the offline ladder)
-> ``activations`` (extraction and the per-layer Zarr store)
-> ``probing`` (neuron selection, the batched solver, the sweep, the result schema)
-> ``summaries`` (per-model, neuron, scaling and training tables)
-> ``report`` (figures, neuron case studies, ablation).

``config`` (the validated workflow config), ``errors`` and ``cli`` sit beside them;
``workflow`` holds what the Snakemake rules call (job resources, logging).
"""

__version__ = "0.1.0"
