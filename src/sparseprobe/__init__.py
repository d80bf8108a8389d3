"""sparseprobe: k-sparse probing of MLP neurons across layers and model scale.

Stages (one module each, data flows one way):
sources -> datasets (feature datasets) -> activations (Zarr) -> probing (Parquet rows)
-> summaries (tables and plots). ``ladder`` trains the offline model ladder.
"""

__version__ = "0.1.0"
