"""Reading activation stores (Zarr + ``model.json``), without importing torch.

Written by :func:`sparseprobe.activations.extract_activations`; see docs/schemas.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from sparseprobe.datasets import FeatureDataset
from sparseprobe.errors import ActivationStoreError


@dataclass(frozen=True)
class StoreInfo:
    """What ``model.json`` records next to the layer arrays."""

    model: str
    family: str
    source: str
    revision: str | None
    hook: str
    aggregation: str
    dataset: str
    dataset_fingerprint: str
    n_examples: int
    n_layers: int
    d_mlp: int
    n_parameters: int
    layers: list[int]
    context_tokens: int
    store_dtype: str
    device: str
    tokens_processed: int
    seconds: float


def read_store_info(store_dir: Path) -> StoreInfo:
    """The ``model.json`` of a complete activation store."""
    path = Path(store_dir) / "model.json"
    if not path.is_file():
        raise ActivationStoreError(f"{path}: missing; {store_dir} is not a complete store")
    return StoreInfo(**json.loads(path.read_text()))


def read_layer(
    store_dir: Path, layer: int, dataset: FeatureDataset, neurons: list[int] | None = None
) -> np.ndarray:
    """Load one layer's activations as float32 [n_examples, d_mlp], checking completeness and
    that the store was computed from this very dataset (its fingerprint). With ``neurons``, only
    those columns, in that order: [n_examples, len(neurons)]."""
    path = Path(store_dir) / f"layer_{layer}.zarr"
    try:
        array = zarr.open_array(str(path), mode="r")
    except Exception as exc:  # zarr raises several types for a missing or broken store
        raise ActivationStoreError(f"{path}: cannot open ({exc})") from exc
    attrs = dict(array.attrs)
    if not attrs.get("complete"):
        raise ActivationStoreError(f"{path}: incomplete store (no 'complete' attribute)")
    if attrs.get("dataset_fingerprint") != dataset.fingerprint:
        raise ActivationStoreError(
            f"{path}: computed from dataset fingerprint {attrs.get('dataset_fingerprint')}, "
            f"but '{dataset.name}' is now {dataset.fingerprint}; re-extract activations"
        )
    if array.shape[0] != dataset.examples.height:
        raise ActivationStoreError(
            f"{path}: {array.shape[0]} rows, dataset '{dataset.name}' has "
            f"{dataset.examples.height} examples"
        )
    if neurons is None:
        return np.asarray(array[:], dtype=np.float32)
    bad = [n for n in neurons if not 0 <= n < array.shape[1]]
    if bad:
        raise ActivationStoreError(f"{path}: {array.shape[1]} neurons, asked for {bad}")
    return np.asarray(array.get_orthogonal_selection((slice(None), list(neurons))),
                      dtype=np.float32)
