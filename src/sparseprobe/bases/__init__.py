"""Bases: what a layer is probed in, besides its MLP neurons.

Sits between ``activations`` and ``probing`` (imports sources, datasets, models, activations,
config, errors; never probing, summaries, report or workflow).

- ``sae``: a TopK sparse autoencoder in torch and its seeded training on a matrix of
  activations, with the reconstruction quality and dead-latent fraction on held-out rows;
- ``saelens``: saving and loading SAEs in SAELens' directory format (``cfg.json`` +
  ``sae_weights.safetensors``), checked against the layer they encode;
- ``latents``: an SAE's latents of a cached layer, computed from the activation store on the
  fly, as the float32 matrix the probe step takes in place of the neurons.

The residual stream needs no code here: extraction stores ``blocks.{L}.hook_resid_post``
(d_model columns) when ``ExtractionSettings.hook`` is ``hook_resid_post``. See docs/bases.md.
"""

from sparseprobe.bases.latents import check_sae_fits_layer, layer_latents
from sparseprobe.bases.sae import (
    SAEConfig,
    SAEError,
    SAETrainingRecord,
    SAETrainingSettings,
    TopKSAE,
    TrainedSAE,
    encode,
    reconstruction,
    train_sae,
)
from sparseprobe.bases.saelens import load_sae, read_record, save_sae

__all__ = [
    "SAEConfig", "SAEError", "SAETrainingRecord", "SAETrainingSettings", "TopKSAE",
    "TrainedSAE", "check_sae_fits_layer", "encode", "layer_latents", "load_sae", "read_record",
    "reconstruction", "save_sae", "train_sae",
]
