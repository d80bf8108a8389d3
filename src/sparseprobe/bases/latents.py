"""SAE latents of a cached layer, computed on the fly from the activation store.

The probe step reads a layer as a float32 [n_examples, d] matrix; :func:`layer_latents` gives
the [n_examples, d_sae] matrix of an SAE's latents in its place, encoding the stored rows a
batch at a time (nothing is written). Before encoding it checks that the SAE fits the layer:
its ``d_in`` equals the layer's width and its ``hook_name`` names the stored hook.

What a latent row is: the SAE applied to the store's row, i.e. to the span's *reduced*
activation (``aggregation`` of the dataset: the last token, the mean or the max over the span).
For ``last`` that is one token's activation, what SAEs are trained on; for ``mean`` / ``max``
it is the latents of the reduced vector, not the mean / max of per-token latents, and an SAE
trained on tokens sees an input unlike its training rows there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sparseprobe.activations.store import open_layer, read_layer
from sparseprobe.bases.sae import SAEError, TopKSAE, encode
from sparseprobe.datasets import FeatureDataset


def _cfg_path(sae: TopKSAE) -> str:
    return f"{sae.source / 'cfg.json'}" if sae.source else "the SAE's config"


def check_sae_fits_layer(sae: TopKSAE, store_dir: Path, layer: int) -> None:
    """Raise SAEError naming the SAE's ``cfg.json`` and the key (``d_in``, ``hook_name``)
    when ``sae`` does not encode layer ``layer`` of the store: a width that differs from the
    layer's columns, or a hook that differs from the stored one. An SAE without a hook name
    is checked for its width only."""
    array = open_layer(store_dir, layer)
    path = Path(store_dir) / f"layer_{layer}.zarr"
    width = array.shape[1]
    if sae.cfg.d_in != width:
        raise SAEError(f"{_cfg_path(sae)}: key 'd_in' is {sae.cfg.d_in}, but {path} has "
                       f"{width} columns")
    stored = dict(array.attrs).get("hook")
    if sae.cfg.hook_name and stored and sae.cfg.hook_name != stored:
        raise SAEError(f"{_cfg_path(sae)}: key 'hook_name' is '{sae.cfg.hook_name}', but "
                       f"{path} holds '{stored}'")


def layer_latents(store_dir: Path, layer: int, dataset: FeatureDataset, sae: TopKSAE,
                  batch_rows: int = 4096) -> np.ndarray:
    """The SAE latents of every example of one cached layer, float32 [n_examples, d_sae]
    (row i: example i), after :func:`check_sae_fits_layer` and the store's own checks
    (:func:`~sparseprobe.activations.store.read_layer`: complete, checksums, this dataset)."""
    check_sae_fits_layer(sae, store_dir, layer)
    activations = read_layer(store_dir, layer, dataset)
    return encode(sae, activations, batch_rows=batch_rows)

