"""sparseprobe: k-sparse probing of MLP neurons across layers and model scale.

One subpackage per stage; data flows one way and imports only run downhill:

``sources`` (pinned registry packages)
-> ``datasets`` (feature datasets: text + span + labels + split)
-> ``models`` (the model catalogue's loader, hardware, the offline ladder)
-> ``activations`` (extraction and the per-layer Zarr store)
-> ``bases`` (other bases of a layer's activations: sparse autoencoders, their latents)
-> ``probing`` (neuron selection, the batched solver, the sweep, the result schema)
-> ``summaries`` (per-model, neuron, scaling and training tables)
-> ``report`` (figures, neuron case studies, ablation)
-> ``workflow`` (what the Snakemake rules call: the plan, job resources, logging, timings,
   ``verify`` and ``diff`` of finished runs)
-> ``cli`` (the ``sparseprobe`` command, on top).

``config`` (the validated workflow config), ``errors`` and ``progress`` sit below every
stage, which may import them; tests/test_layering.py checks the order.
"""

__version__ = "0.1.0"
