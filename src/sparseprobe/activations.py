"""Activation caching: tokenize, align spans to tokens, run each batch once, aggregate on the
device and stream rows into one Zarr array per layer.

Store layout: ``{out_dir}/layer_{L}.zarr`` (float16 by default, shape [n_examples, d_mlp],
chunked by rows) plus ``{out_dir}/model.json``. Row i is example_id i of the dataset. The whole
directory is written under a temporary name and renamed when every layer is complete, and each
array's attrs carry ``complete: true``: a killed job never leaves a store that reads as complete.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import zarr

from sparseprobe.datasets import FeatureDataset
from sparseprobe.errors import ActivationStoreError
from sparseprobe.models import LoadedModel
from sparseprobe.store import StoreInfo, read_layer, read_store_info  # noqa: F401 (re-export)

DEFAULT_HOOK = "mlp.hook_post"


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


def tokenize_example(
    tokenizer, text: str, span_start: int, span_end: int, context_tokens: int, prefix_id: int | None
) -> TokenizedExample:
    """Tokenize one example and cut a window of at most ``context_tokens`` (prefix included).

    The window ends at the span's last token, so the tokens read are always inside it; span
    tokens that fall before a long window's start are dropped (the window keeps the latest ones).
    Raises ActivationStoreError if no token overlaps the span.
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
    positions = align_span(offsets, span_start, span_end)
    if not positions:
        raise ActivationStoreError(
            f"no token overlaps the span [{span_start}, {span_end}) of text {text[:60]!r}"
        )
    budget = context_tokens - (1 if prefix_id is not None else 0)
    end = positions[-1] + 1
    start = max(0, end - budget)
    window_ids = ids[start:end]
    shift = (1 if prefix_id is not None else 0) - start
    window_positions = [p + shift for p in positions if p >= start]
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
    """How to run the model over a dataset."""

    hook: str = DEFAULT_HOOK
    context_tokens: int = 128
    batch_size: int = 32
    chunk_rows: int = 256
    store_dtype: str = "float16"
    layers: tuple[int, ...] | None = None  # None: every layer


def _prefix_id(model: LoadedModel) -> int | None:
    if not model.spec.prepend_bos:
        return None
    tok = model.tokenizer
    if tok.bos_token is not None:
        return tok.bos_token_id
    return tok.cls_token_id  # encoders (BERT): [CLS] plays the role of BOS


def _run_block(
    model: LoadedModel, block: list[TokenizedExample], layers: list[int], hook: str,
    how: str, batch_size: int,
) -> dict[int, np.ndarray]:
    """Aggregated activations of one block of examples, per layer (rows in block order)."""
    out = {layer: np.empty((len(block), model.d_mlp), dtype=np.float32) for layer in layers}
    order = sorted(range(len(block)), key=lambda i: len(block[i].ids))
    names = {f"blocks.{layer}.{hook}": layer for layer in layers}
    pad = model.tokenizer.pad_token_id or 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        width = max(len(block[i].ids) for i in idx)
        ids = torch.full((len(idx), width), pad, dtype=torch.long)
        attention = torch.zeros((len(idx), width), dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.bool)
        for row, i in enumerate(idx):
            ids[row, : len(block[i].ids)] = torch.tensor(block[i].ids)
            attention[row, : len(block[i].ids)] = 1
            mask[row, block[i].span_positions] = True
        ids, attention, mask = (t.to(model.device) for t in (ids, attention, mask))
        with torch.inference_mode():
            _, cache = model.bridge.run_with_cache(
                ids, attention_mask=attention, names_filter=lambda n: n in names,
                stop_at_layer=max(layers) + 1,
            )
            for name, layer in names.items():
                reduced = aggregate(cache[name].float(), mask, how).cpu().numpy()
                out[layer][idx] = reduced
        del cache
    return out


def extract_activations(
    model: LoadedModel, dataset: FeatureDataset, out_dir: Path, settings: ExtractionSettings
) -> StoreInfo:
    """Run ``model`` over every example once and write one Zarr array per layer to ``out_dir``.

    Examples are processed in blocks of ``chunk_rows`` rows (one Zarr chunk each), so peak
    memory depends on the block, not the dataset size. All layers come from the same forward
    pass, stopped after the last layer needed.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    layers = sorted(settings.layers) if settings.layers is not None else list(range(model.n_layers))
    bad = [layer for layer in layers if not 0 <= layer < model.n_layers]
    if bad:
        raise ActivationStoreError(
            f"model '{model.spec.name}' has {model.n_layers} layers; layers {bad} requested"
        )
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    n = dataset.examples.height
    arrays = {
        layer: zarr.create_array(
            store=str(partial / f"layer_{layer}.zarr"), shape=(n, model.d_mlp),
            chunks=(settings.chunk_rows, model.d_mlp), dtype=settings.store_dtype,
            zarr_format=3,
        )
        for layer in layers
    }
    prefix = _prefix_id(model)
    texts = dataset.examples["text"].to_list()
    starts = dataset.examples["span_start"].to_list()
    ends = dataset.examples["span_end"].to_list()
    tokens = 0
    for lo in range(0, n, settings.chunk_rows):
        hi = min(n, lo + settings.chunk_rows)
        block = [
            tokenize_example(model.tokenizer, texts[i], starts[i], ends[i],
                             settings.context_tokens, prefix)
            for i in range(lo, hi)
        ]
        tokens += sum(len(b.ids) for b in block)
        reduced = _run_block(model, block, layers, settings.hook, dataset.aggregation,
                             settings.batch_size)
        for layer, rows in reduced.items():
            arrays[layer][lo:hi] = rows.astype(settings.store_dtype)
    info = StoreInfo(
        model=model.spec.name, family=model.spec.family, source=str(model.spec.source),
        revision=model.spec.revision, hook=f"blocks.{{L}}.{settings.hook}",
        aggregation=dataset.aggregation, dataset=dataset.name,
        dataset_fingerprint=dataset.fingerprint, n_examples=n, n_layers=model.n_layers,
        d_mlp=model.d_mlp, n_parameters=model.n_parameters, layers=layers,
        context_tokens=settings.context_tokens, store_dtype=settings.store_dtype,
        device=model.device, tokens_processed=tokens,
        seconds=round(time.perf_counter() - started, 3),
    )
    for layer, array in arrays.items():
        array.attrs.update({**asdict(info), "layer": layer, "hook": f"blocks.{layer}.{settings.hook}",
                            "complete": True})
    (partial / "model.json").write_text(json.dumps(asdict(info), indent=2) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial.rename(out_dir)
    return info
