"""Activation caching: tokenize, align spans to tokens, run each batch once, aggregate on the
device and stream rows into one Zarr array per layer.

Store layout: ``{out_dir}/layer_{L}.zarr`` (float16 by default, shape [n_examples, d_mlp],
chunked by rows) plus ``{out_dir}/model.json``. Row i is example_id i of the dataset. The whole
directory is written under a temporary name and renamed when every layer is complete, and each
array's attrs carry ``complete: true``: a killed job never leaves a store that reads as complete.

How a run uses the device: examples are taken in blocks of whole Zarr chunks (several batches
each), sorted by token length inside the block so a batch holds windows of similar length (little
padding), and run with a forward hook on each stored layer that reduces the span on the device
as soon as the layer is reached; the pass stops after the last stored layer (no unembedding).
Each block's rows go back to example order on the device and are copied to the host and written
by a background thread while the next block runs.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import zarr

from sparseprobe.datasets import FeatureDataset
from sparseprobe.errors import ActivationStoreError
from sparseprobe.progress import Progress
from sparseprobe.models.hardware import (
    Throughput,
    choose_batch_size,
    device_name,
    free_memory_bytes,
    peak_bf16_tflops,
)
from sparseprobe.models.identity import ModelFingerprint, model_fingerprint
from sparseprobe.models.loading import LoadedModel, prefix_token_id
from sparseprobe.activations.store import (  # noqa: F401 (read_* re-exported)
    STORE_FORMAT,
    StoreInfo,
    dataset_fingerprint,
    StoreWriter,
    read_layer,
    read_store_info,
)

log = logging.getLogger(__name__)

DEFAULT_HOOK = "mlp.hook_post"
RESIDUAL_HOOKS = ("hook_resid_pre", "hook_resid_mid", "hook_resid_post", "hook_attn_out",
                  "hook_mlp_out")
"""Hooks (after ``blocks.{L}.``) whose tensors have the residual stream's width, d_model."""


def hook_width(model: LoadedModel, hook: str) -> int:
    """Columns of a layer's store for ``hook``: d_model for a residual-stream hook
    (:data:`RESIDUAL_HOOKS`), else d_mlp (``mlp.hook_post``, ``mlp.hook_pre``)."""
    return model.d_model if hook in RESIDUAL_HOOKS else model.d_mlp


@dataclass(frozen=True)
class TokenizedExample:
    """Token ids of the window fed to the model and the window positions inside the span."""

    ids: list[int]
    span_positions: list[int]


def align_span(
    offsets: list[tuple[int, int]], span_start: int, span_end: int
) -> list[int]:
    """Indices of the tokens whose character offsets overlap [span_start, span_end).

    Works for any tokenizer that reports offsets (byte-level BPE, WordPiece). Zero-width tokens
    (specials) never belong to a span.
    """
    return [
        i for i, (start, end) in enumerate(offsets)
        if end > start and start < span_end and end > span_start
    ]


def nearest_token(offsets: list[tuple[int, int]], span_start: int) -> list[int]:
    """The token a span is read at when no token overlaps it: the last token ending at or
    before the span (else the first after it). This happens only where the tokenizer drops the
    span's characters, e.g. a whitespace-only pre-token under WordPiece, which makes no
    whitespace tokens; a byte-level BPE (the ladder, Pythia) always has an overlapping token,
    so its windows never take this path. Empty when the text has no real token at all."""
    real = [i for i, (start, end) in enumerate(offsets) if end > start]
    before = [i for i in real if offsets[i][1] <= span_start]
    if before:
        return [before[-1]]
    return real[:1]


def span_window(offsets: list[tuple[int, int]], span_start: int, span_end: int, budget: int
                ) -> tuple[int, int, list[int]]:
    """The tokens [start, end) an example is read through, at most ``budget`` of them and
    ending at the span's last token, and the span's token indices inside that window (a span
    no token overlaps is read at :func:`nearest_token`; empty only for a text without tokens;
    span tokens before a long window's start are dropped).
    Extraction and the neuron case studies both cut windows with it."""
    positions = align_span(offsets, span_start, span_end)
    if not positions and span_end > span_start:
        positions = nearest_token(offsets, span_start)
    if not positions:
        return 0, 0, []
    end = positions[-1] + 1
    start = max(0, end - budget)
    return start, end, [p for p in positions if p >= start]


def tokenize_example(
    tokenizer, text: str, span_start: int, span_end: int, context_tokens: int, prefix_id: int | None
) -> TokenizedExample:
    """Tokenize one example and cut a window of at most ``context_tokens`` (prefix included).

    The window ends at the span's last token, so the tokens read are always inside it; span
    tokens that fall before a long window's start are dropped (the window keeps the latest ones).
    Raises ActivationStoreError if no token overlaps the span.
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return _window(text, list(enc["input_ids"]), enc["offset_mapping"], span_start, span_end,
                   context_tokens, prefix_id)


def tokenize_examples(
    tokenizer, texts: list[str], starts: list[int], ends: list[int], context_tokens: int,
    prefix_id: int | None,
) -> list[TokenizedExample]:
    """:func:`tokenize_example` for many texts with one tokenizer call (a fast tokenizer
    encodes the list in one go); same windows, same errors."""
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    return [
        _window(text, list(ids), offsets, start, end, context_tokens, prefix_id)
        for text, ids, offsets, start, end
        in zip(texts, enc["input_ids"], enc["offset_mapping"], starts, ends, strict=True)
    ]


def _window(text: str, ids: list[int], offsets, span_start: int, span_end: int,
            context_tokens: int, prefix_id: int | None) -> TokenizedExample:
    budget = context_tokens - (1 if prefix_id is not None else 0)
    start, end, inside = span_window([tuple(o) for o in offsets], span_start, span_end, budget)
    if not inside:
        raise ActivationStoreError(
            f"no token overlaps the span [{span_start}, {span_end}) of text {text[:60]!r}"
        )
    window_ids = ids[start:end]
    shift = (1 if prefix_id is not None else 0) - start
    window_positions = [p + shift for p in inside]
    if prefix_id is not None:
        window_ids = [prefix_id] + window_ids
    return TokenizedExample(window_ids, window_positions)


def aggregate(acts: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """Reduce [batch, pos, d] activations over the positions where ``mask`` is True.

    ``mean``: mean over masked positions; ``max``: max over them; ``last``: the last masked
    position. Every row must have at least one masked position.
    """
    if how == "mean":
        weights = mask.to(acts.dtype).unsqueeze(-1)
        return (acts * weights).sum(1) / weights.sum(1)
    if how == "max":
        return acts.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1).values
    if how == "last":
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        last = torch.where(mask, positions, -1).max(1).values
        return acts[torch.arange(acts.shape[0], device=acts.device), last]
    raise ValueError(f"unknown aggregation '{how}'")


@dataclass(frozen=True)
class ExtractionSettings:
    """How to run the model over a dataset (``batch_size`` None: :func:`auto_batch_size`)."""

    hook: str = DEFAULT_HOOK
    context_tokens: int = 128
    batch_size: int | None = None
    chunk_rows: int = 256
    store_dtype: str = "float16"
    layers: tuple[int, ...] | None = None  # None: every layer


BATCHES_PER_BLOCK = 8
"""A block (the rows sorted by length together) spans at least this many batches..."""
BLOCK_BUDGET_BYTES = 256 * 2**20
"""...unless its result buffer would pass this size (it is then one Zarr chunk or more)."""
PENDING_BLOCKS = 2
"""Blocks that may wait for the writer; with the one being computed and the one being written,
up to PENDING_BLOCKS + 2 result buffers exist at a time."""


def block_rows(chunk_rows: int, batch_size: int, row_bytes: int) -> int:
    """Rows per block: a whole number of Zarr chunks (so blocks never share a chunk) holding
    BATCHES_PER_BLOCK batches, cut to BLOCK_BUDGET_BYTES of results (``row_bytes`` per row)
    but never below one batch or one chunk."""
    wanted = math.ceil(BATCHES_PER_BLOCK * batch_size / chunk_rows)
    affordable = BLOCK_BUDGET_BYTES // max(1, row_bytes * chunk_rows)
    one_batch = math.ceil(batch_size / chunk_rows)
    return max(one_batch, min(wanted, affordable)) * chunk_rows


def auto_batch_size(model: LoadedModel, context_tokens: int, n_layers_stored: int,
                    store_dtype: str) -> int:
    """The batch size :func:`sparseprobe.models.hardware.choose_batch_size` picks for this model on
    its device, with the free memory measured now (weights loaded) and room left for the
    result buffers (up to PENDING_BLOCKS + 2 blocks of BLOCK_BUDGET_BYTES, or of one batch)."""
    row_bytes = n_layers_stored * model.d_mlp * np.dtype(store_dtype).itemsize
    return choose_batch_size(
        model.shape, context_tokens, model.dtype, model.device, free_memory_bytes(model.device),
        reserved_bytes=(PENDING_BLOCKS + 2) * BLOCK_BUDGET_BYTES,
        result_bytes_per_example=(PENDING_BLOCKS + 2) * row_bytes,
    )


def _prefix_id(model: LoadedModel) -> int | None:
    return prefix_token_id(model.spec, model.tokenizer)


def reduce_span(acts: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """:func:`aggregate` in float32 whatever the compute dtype: ``mean`` sums in float32;
    ``max`` and ``last`` select an element, so they run in the compute dtype and are cast."""
    if how == "mean":
        return aggregate(acts.float(), mask, how)
    return aggregate(acts, mask, how).float()


class _ForwardDone(Exception):
    """Raised by the last stored layer's hook: nothing after it is needed."""


class SpanReducer:
    """Forward hooks on the stored layers that keep only each example's span reduction.

    Attach :meth:`hooks` with ``bridge.hooks(...)``, then :meth:`run` a batch: each hook reduces
    its layer's [batch, pos, d_mlp] tensor to [batch, d_mlp] on the device as the pass reaches
    it (nothing else is kept), and the last one ends the pass.
    """

    def __init__(self, layers: list[int], hook: str, how: str, stop: bool = True):
        self.names = [f"blocks.{layer}.{hook}" for layer in layers]
        self.hook = hook
        self.how = how
        self.stop = stop
        self._mask: torch.Tensor | None = None
        self._rows: list[torch.Tensor | None] = []

    def hooks(self) -> list[tuple[str, object]]:
        return [(name, partial(self._hook, j)) for j, name in enumerate(self.names)]

    def _hook(self, j: int, acts: torch.Tensor, hook) -> None:
        self._rows[j] = reduce_span(acts, self._mask, self.how)
        if self.stop and j == len(self.names) - 1:
            raise _ForwardDone

    def run(self, bridge, ids: torch.Tensor, attention: torch.Tensor, mask: torch.Tensor
            ) -> torch.Tensor:
        """[n_layers, batch, d_mlp] float32 span reductions of one padded batch."""
        self._mask, self._rows = mask, [None] * len(self.names)
        try:
            bridge(ids, attention_mask=attention, return_type=None)
        except _ForwardDone:
            pass
        missing = [name for name, rows in zip(self.names, self._rows) if rows is None]
        if missing:
            raise ActivationStoreError(f"the forward pass never reached hook(s) {missing}")
        return torch.stack(self._rows)


def pad_batch(examples: list[TokenizedExample], pad_id: int
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ids, attention mask and span mask [batch, longest window] on the CPU."""
    lengths = np.array([len(ex.ids) for ex in examples])
    ids = np.full((len(examples), lengths.max()), pad_id, dtype=np.int64)
    mask = np.zeros(ids.shape, dtype=bool)
    for row, ex in enumerate(examples):
        ids[row, : len(ex.ids)] = ex.ids
        mask[row, ex.span_positions] = True
    attention = (np.arange(ids.shape[1]) < lengths[:, None]).astype(np.int64)
    return torch.from_numpy(ids), torch.from_numpy(attention), torch.from_numpy(mask)


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU tensor to ``device``; to a GPU through pinned memory, without waiting, so
    the host goes on preparing the next batch while the GPU works."""
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def length_order(block: list[TokenizedExample]) -> list[int]:
    """Indices of ``block`` by window length (stable: ties keep example order)."""
    return sorted(range(len(block)), key=lambda i: len(block[i].ids))


def _run_block(
    model: LoadedModel, block: list[TokenizedExample], reducer: SpanReducer, batch_size: int,
    store_dtype: str,
) -> tuple[torch.Tensor, int]:
    """Span reductions of one block, [n_layers, len(block), d_mlp] in ``store_dtype`` on the
    model's device with rows in block order, and the tokens run (padding included).

    Batches are cut from the block sorted by length; each batch's rows are scattered back to
    their examples' places on the device, so no host round trip happens inside a block.
    """
    device = torch.device(model.device)
    pad = model.tokenizer.pad_token_id or 0
    order = length_order(block)
    padded = 0
    with torch.inference_mode():
        out = torch.empty((len(reducer.names), len(block), hook_width(model, reducer.hook)),
                          dtype=getattr(torch, store_dtype), device=device)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            ids, attention, mask = (to_device(t, device)
                                    for t in pad_batch([block[i] for i in idx], pad))
            padded += ids.numel()
            rows = reducer.run(model.bridge, ids, attention, mask)
            out[:, to_device(torch.tensor(idx), device)] = rows.to(out.dtype)
    return out, padded


def _to_host(rows: torch.Tensor) -> np.ndarray:
    return rows.cpu().numpy()


CHUNK_CODEC = {"name": "zstd", "configuration": {"level": 0, "checksum": True}}
"""Zarr's default compressor with zstd's content checksum on: a flipped byte fails to decode."""


def extract_activations(
    model: LoadedModel, dataset: FeatureDataset, out_dir: Path, settings: ExtractionSettings,
    fingerprint: ModelFingerprint | None = None,
) -> StoreInfo:
    """Run ``model`` over every example once and write one Zarr array per layer to ``out_dir``.

    Examples are processed in blocks of whole Zarr chunks (:func:`block_rows`), so peak memory
    depends on the block, not the dataset size; one forward pass per batch gives every layer,
    stopped after the last layer needed. Row i of every array is example i whatever the
    batching. An exception anywhere (the model, the tokenizer, a Zarr write) leaves only
    ``{out_dir}.partial``, never a store that reads as complete. Logs, and records in
    ``model.json``, the throughput (tokens/s, FLOP/s, fraction of the GPU's bf16 peak).

    Identity (format 2): every chunk is written, with zstd's checksum; ``model.json`` records
    the dataset fingerprint recomputed from its tables and the model's ``fingerprint``
    (computed here from ``model.spec`` when not given; the workflow passes the one of
    ``results/models/{model}/fingerprint.json``).
    """
    if fingerprint is None:
        fingerprint = model_fingerprint(model.spec)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    layers = sorted(settings.layers) if settings.layers is not None else list(range(model.n_layers))
    bad = [layer for layer in layers if not 0 <= layer < model.n_layers]
    if bad:
        raise ActivationStoreError(
            f"model '{model.spec.name}' has {model.n_layers} layers; layers {bad} requested"
        )
    if dataset.examples.height == 0:
        raise ActivationStoreError(f"dataset '{dataset.name}' has no examples to extract")
    batch_size = settings.batch_size or auto_batch_size(
        model, settings.context_tokens, len(layers), settings.store_dtype)
    width = hook_width(model, settings.hook)
    row_bytes = len(layers) * width * np.dtype(settings.store_dtype).itemsize
    rows_per_block = block_rows(settings.chunk_rows, batch_size, row_bytes)
    log.info("%s: batch size %d (%s), blocks of %d rows, %s on %s", model.spec.name, batch_size,
             "config" if settings.batch_size else "auto", rows_per_block, model.dtype,
             model.device)
    partial_dir = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial_dir, ignore_errors=True)
    partial_dir.mkdir(parents=True)
    n = dataset.examples.height
    arrays = [
        zarr.create_array(
            store=str(partial_dir / f"layer_{layer}.zarr"), shape=(n, width),
            chunks=(settings.chunk_rows, width), dtype=settings.store_dtype,
            zarr_format=3, compressors=CHUNK_CODEC, config={"write_empty_chunks": True},
        )
        for layer in layers
    ]
    prefix = _prefix_id(model)
    texts = dataset.examples["text"].to_list()
    starts = dataset.examples["span_start"].to_list()
    ends = dataset.examples["span_end"].to_list()
    reducer = SpanReducer(layers, settings.hook, dataset.aggregation)

    def tokenize(lo: int) -> list[TokenizedExample]:
        hi = min(n, lo + rows_per_block)
        return tokenize_examples(model.tokenizer, texts[lo:hi], starts[lo:hi], ends[lo:hi],
                                 settings.context_tokens, prefix)

    tokens = padded = 0
    block_starts = list(range(0, n, rows_per_block))
    progress = Progress(log, f"extract {model.spec.name} on {dataset.name}", n, unit="examples")
    # one thread tokenizes block i + 1 while block i runs, another writes block i - 1
    with ThreadPoolExecutor(1, thread_name_prefix="tokenize") as tokenizer_thread, \
            StoreWriter(arrays, max_pending=PENDING_BLOCKS) as writer, \
            model.bridge.hooks(fwd_hooks=reducer.hooks()):
        upcoming = tokenizer_thread.submit(tokenize, block_starts[0])
        for k, lo in enumerate(block_starts):
            block = upcoming.result()
            if k + 1 < len(block_starts):
                upcoming = tokenizer_thread.submit(tokenize, block_starts[k + 1])
            tokens += sum(len(b.ids) for b in block)
            rows, block_padded = _run_block(model, block, reducer, batch_size,
                                            settings.store_dtype)
            padded += block_padded
            writer.put(lo, partial(_to_host, rows))
            progress.update(lo + len(block))
    seconds = time.perf_counter() - started
    name = device_name(model.device)
    speed = Throughput(
        tokens=tokens, padded_tokens=padded, seconds=seconds,
        flops_per_token=model.shape.flops_per_token(max(layers) + 1), device_name=name,
        peak_tflops=peak_bf16_tflops(name) if model.device.startswith("cuda") else None,
    )
    info = StoreInfo(
        model=model.spec.name, family=model.spec.family, source=str(model.spec.source),
        revision=model.spec.revision, hook=f"blocks.{{L}}.{settings.hook}",
        aggregation=dataset.aggregation, dataset=dataset.name,
        dataset_fingerprint=dataset_fingerprint(dataset), n_examples=n, n_layers=model.n_layers,
        d_mlp=width, n_parameters=model.n_parameters, layers=layers,
        context_tokens=settings.context_tokens, store_dtype=settings.store_dtype,
        device=model.device, tokens_processed=tokens, seconds=round(seconds, 3),
        compute_dtype=model.dtype, batch_size=batch_size, device_name=name,
        tokens_padded=padded, tokens_per_second=round(speed.tokens_per_second, 1),
        flops_per_token=speed.flops_per_token, achieved_tflops=speed.achieved_tflops,
        peak_tflops=speed.peak_tflops, peak_fraction=speed.peak_fraction,
        format=STORE_FORMAT, model_fingerprint=fingerprint.digest,
        weights_sha256=fingerprint.weights, tokenizer_sha256=fingerprint.tokenizer,
    )
    for layer, array in zip(layers, arrays):
        array.attrs.update({**asdict(info), "layer": layer, "hook": f"blocks.{layer}.{settings.hook}",
                            "complete": True})
    (partial_dir / "model.json").write_text(json.dumps(asdict(info), indent=2) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial_dir.rename(out_dir)
    log.info("throughput: %s", speed.describe())
    return info
