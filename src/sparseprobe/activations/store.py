"""Reading activation stores (Zarr + ``model.json``), without importing torch.

Written by :func:`sparseprobe.activations.extraction.extract_activations`; see docs/schemas.md.
"""

from __future__ import annotations

import json
import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from sparseprobe.datasets import FeatureDataset
from sparseprobe.datasets.schema import fingerprint as content_fingerprint
from sparseprobe.errors import ActivationStoreError

STORE_FORMAT = 2
"""Format 2: every chunk carries zstd's content checksum, every chunk is written (no fill
value stands in for a missing one) and ``model.json`` records the model's fingerprint."""


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
    # how the run went (absent from stores written before they were recorded)
    compute_dtype: str | None = None
    batch_size: int | None = None
    device_name: str | None = None
    tokens_padded: int | None = None  # tokens the model ran, padding included
    tokens_per_second: float | None = None  # real tokens / seconds (model loading excluded)
    flops_per_token: float | None = None  # 2 x non-embedding parameters of the blocks run
    achieved_tflops: float | None = None
    peak_tflops: float | None = None  # dense bf16 peak of the GPU; None if unknown or a CPU
    peak_fraction: float | None = None
    # identity (format 2; None in older stores)
    format: int = 1
    model_fingerprint: str | None = None  # ModelFingerprint.digest of the weights read
    weights_sha256: str | None = None
    tokenizer_sha256: str | None = None


def rebuild_command(store_dir: Path) -> str:
    """The command that rebuilds one store (and, being newer, everything built from it)."""
    return f"snakemake --forcerun {store_dir}"


def dataset_fingerprint(dataset: FeatureDataset) -> str:
    """The dataset's fingerprint recomputed from its tables (not the one meta.json states)."""
    return content_fingerprint(dataset.examples, dataset.labels, dataset.aggregation)


def read_store_info(store_dir: Path) -> StoreInfo:
    """The ``model.json`` of a complete activation store."""
    path = Path(store_dir) / "model.json"
    if not path.is_file():
        raise ActivationStoreError(f"{path}: missing; {store_dir} is not a complete store; "
                                   f"rebuild with: {rebuild_command(store_dir)}")
    try:
        return StoreInfo(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ActivationStoreError(f"{path}: unreadable ({exc}); rebuild with: "
                                   f"{rebuild_command(store_dir)}") from exc


def check_identity(store_dir: Path, dataset: FeatureDataset, model_fingerprint: str | None
                   ) -> StoreInfo:
    """The store's ``model.json``, after checking the store is of the current format, was
    computed from this dataset's content (recomputed, not read from meta.json) and, when
    ``model_fingerprint`` is given, from the model whose weights have that fingerprint. Raises
    ActivationStoreError naming what differs and the command that rebuilds the store."""
    info = read_store_info(store_dir)
    hint = f"re-extract with: {rebuild_command(store_dir)}"
    if info.format < STORE_FORMAT:
        raise ActivationStoreError(
            f"{store_dir}: store format {info.format} (no chunk checksums, no model "
            f"fingerprint); this version reads format {STORE_FORMAT}: {hint}")
    current = dataset_fingerprint(dataset)
    if info.dataset_fingerprint != current:
        raise ActivationStoreError(
            f"{store_dir}: computed from dataset fingerprint {info.dataset_fingerprint}, but "
            f"the examples and labels of '{dataset.name}' now hash to {current}: {hint}")
    if model_fingerprint is not None and info.model_fingerprint != model_fingerprint:
        raise ActivationStoreError(
            f"{store_dir}: computed from model '{info.model}' with fingerprint "
            f"{info.model_fingerprint}, but its weights now have fingerprint "
            f"{model_fingerprint}: {hint}")
    return info


def open_layer(store_dir: Path, layer: int) -> zarr.Array:
    """One layer's Zarr array, checked complete (``complete`` attribute, every chunk present:
    a missing chunk would read back as the fill value)."""
    path = Path(store_dir) / f"layer_{layer}.zarr"
    try:
        array = zarr.open_array(str(path), mode="r")
    except Exception as exc:  # zarr raises several types for a missing or broken store
        raise ActivationStoreError(f"{path}: cannot open ({exc}); rebuild with: "
                                   f"{rebuild_command(store_dir)}") from exc
    if not dict(array.attrs).get("complete"):
        raise ActivationStoreError(f"{path}: incomplete store (no 'complete' attribute)")
    missing = missing_chunks(path, array)
    if missing:
        raise ActivationStoreError(
            f"{path}: {len(missing)} chunk(s) missing, first {missing[0]} (a missing chunk "
            f"would read as zeros); rebuild with: {rebuild_command(store_dir)}")
    return array


def chunk_keys(array: zarr.Array) -> list[str]:
    """The keys (``c/i/j``) of every chunk of a 2-d array with the default key encoding."""
    rows, cols = (math.ceil(s / c) if s else 0 for s, c in zip(array.shape, array.chunks))
    return [f"c/{i}/{j}" for i in range(rows) for j in range(cols)]


def missing_chunks(path: Path, array: zarr.Array) -> list[str]:
    """Chunk keys of ``array`` (stored in directory ``path``) with no file."""
    return [key for key in chunk_keys(array) if not (Path(path) / key).is_file()]


def _read_chunked(store_dir: Path, layer: int, array: zarr.Array,
                  neurons: list[int] | None) -> np.ndarray:
    """The array (or the ``neurons`` columns) read one row chunk at a time, so a chunk that
    fails to decode (bad zstd frame, checksum mismatch) is named in the error."""
    step = array.chunks[0]
    width = array.shape[1] if neurons is None else len(neurons)
    out = np.empty((array.shape[0], width), dtype=np.float32)
    for i, lo in enumerate(range(0, array.shape[0], step)):
        hi = min(lo + step, array.shape[0])
        try:
            block = (array[lo:hi] if neurons is None
                     else array.get_orthogonal_selection((slice(lo, hi), list(neurons))))
        except Exception as exc:  # zarr/numcodecs raise RuntimeError, ValueError, ...
            raise ActivationStoreError(
                f"{store_dir}: array layer_{layer}.zarr, chunk row {i} (rows {lo}:{hi}) is "
                f"corrupt ({exc}); rebuild with: {rebuild_command(store_dir)}") from exc
        out[lo:hi] = block
    return out


def read_layer(
    store_dir: Path, layer: int, dataset: FeatureDataset, neurons: list[int] | None = None
) -> np.ndarray:
    """Load one layer's activations as float32 [n_examples, d_mlp], checking completeness
    (every chunk present), each chunk's checksum (format 2) and that the store was computed from
    this very dataset (its fingerprint, recomputed from the tables). With ``neurons``, only
    those columns, in that order: [n_examples, len(neurons)]. Does not check the model: see
    :func:`check_identity`."""
    path = Path(store_dir) / f"layer_{layer}.zarr"
    array = open_layer(store_dir, layer)
    attrs = dict(array.attrs)
    current = dataset_fingerprint(dataset)
    if attrs.get("dataset_fingerprint") != current:
        raise ActivationStoreError(
            f"{path}: computed from dataset fingerprint {attrs.get('dataset_fingerprint')}, "
            f"but the tables of '{dataset.name}' now hash to {current}; re-extract with: "
            f"{rebuild_command(store_dir)}"
        )
    if array.shape[0] != dataset.examples.height:
        raise ActivationStoreError(
            f"{path}: {array.shape[0]} rows, dataset '{dataset.name}' has "
            f"{dataset.examples.height} examples"
        )
    if neurons is not None:
        bad = [n for n in neurons if not 0 <= n < array.shape[1]]
        if bad:
            raise ActivationStoreError(f"{path}: {array.shape[1]} neurons, asked for {bad}")
    return check_finite(_read_chunked(Path(store_dir), layer, array, neurons), path)


def check_finite(values: np.ndarray, path: Path | str) -> np.ndarray:
    """``values`` unchanged when every element is finite; else ActivationStoreError naming
    the array, how many elements are NaN or infinite and the first (row, column). A probe on
    such a layer would be fitted on garbage (sklearn refuses NaN, the sparse rankings do not),
    so it is never probed. Float16 stores overflow to inf above 65504: the message says so."""
    finite = np.isfinite(values)
    if finite.all():
        return values
    n_nan, n_inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
    row, column = (int(i) for i in np.argwhere(~finite)[0])
    raise ActivationStoreError(
        f"{path}: {n_nan} NaN and {n_inf} infinite activations (first at example row {row}, "
        f"column {column}); the layer is not probed. Re-extract it (an infinite value in a "
        f"float16 store is an overflow: set extraction.store_dtype: float32)")


RowBlock = Callable[[], np.ndarray] | np.ndarray
"""Rows for every array of a writer, [n_arrays, n_rows, n_columns], or a function giving them
(run on the writer's thread, e.g. the copy of a GPU tensor to the host)."""


class StoreWriter:
    """Writes blocks of rows into Zarr arrays on one background thread.

    ``put`` queues a block and returns at once unless ``max_pending`` blocks are already
    waiting (the bound keeps host memory flat), so the caller computes the next block while
    this one is compressed and written. A failed write is re-raised, as ActivationStoreError
    naming the array and rows, by the next ``put`` or by ``close``; blocks queued after a
    failure, or after the caller's own failure, are dropped, never written. Used as a context
    manager, leaving the block waits for every queued write (or the drop) before returning.
    """

    def __init__(self, arrays: list[zarr.Array], max_pending: int = 2):
        self._arrays = arrays
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="zarr-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None or self._abandoned:
                continue  # keep draining so a blocked put() returns
            start, rows = item
            target = "the rows' source"
            try:
                block = rows() if callable(rows) else rows
                for array, values in zip(self._arrays, block, strict=True):
                    target = str(array.store_path)
                    stop = start + values.shape[0]
                    if values.shape[1:] != array.shape[1:] or stop > array.shape[0]:
                        # zarr would silently crop a too-wide block
                        raise ValueError(f"rows {start}:{stop} of shape {values.shape} do not fit "
                                         f"an array of shape {array.shape}")
                    array[start:stop] = values
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                self._error = ActivationStoreError(
                    f"{target}: writing rows from {start} failed: {exc!r}"
                )
                self._error.__cause__ = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, start: int, rows: RowBlock) -> None:
        """Queue rows ``start:start + n`` of every array (blocks while the queue is full)."""
        self._raise_if_failed()
        self._queue.put((start, rows))
        self._raise_if_failed()

    def close(self, abandon: bool = False) -> None:
        """Wait for the queued writes (``abandon``: drop them) and re-raise a failed one."""
        self._abandoned = self._abandoned or abandon
        self._queue.put(None)
        self._thread.join()
        if not abandon:
            self._raise_if_failed()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(abandon=exc_type is not None)
