"""The device-side extraction path: length-sorted batches written back in example order, parity
with the previous cache-everything path, the batch-size rule, the background writer and the
store's .partial protocol, compute dtypes, and the throughput recorded in model.json."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
import zarr

import sparseprobe.activations.extraction as acts
from sparseprobe.activations.extraction import (
    ExtractionSettings,
    SpanReducer,
    aggregate,
    block_rows,
    extract_activations,
    length_order,
    read_layer,
    tokenize_examples,
)
from sparseprobe.config import ModelSpec, model_specs
from sparseprobe.datasets import write_feature_dataset
from sparseprobe.errors import ActivationStoreError, ModelLoadError
from sparseprobe.models.hardware import (
    CPU_TOKENS_PER_BATCH,
    ModelShape,
    Throughput,
    choose_batch_size,
    peak_bf16_tflops,
)
from sparseprobe.models.loading import load_model
from sparseprobe.activations.store import StoreWriter

ROOT = Path(__file__).resolve().parent.parent
WORDS = "the high school is near the living room of the city and".split()


def ragged_dataset(root: Path, aggregation: str, n: int = 23):
    """Examples whose windows have very different lengths, in an order that sorting changes,
    with the span in the middle of the text (mean/max reduce several tokens)."""
    texts = []
    for i in range(n):
        length = 1 + (i * 7) % 12  # 1..12 words, shuffled order
        words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(length))
        texts.append(f"{words} number {i} school end")
    starts = [t.rindex("school") - 4 for t in texts]
    examples = pl.DataFrame({
        "example_id": list(range(n)), "document_id": [str(i) for i in range(n)], "text": texts,
        "span_start": starts, "span_end": [t.rindex("school") + 6 for t in texts],
        "stratum": ["a"] * n,
        "split": [("train", "train", "test", "test")[i % 4] for i in range(n)],
    })
    labels = pl.DataFrame({"feature": ["f"] * n, "example_id": list(range(n)),
                           "label": [i % 2 == 0 for i in range(n)]})
    return write_feature_dataset(root / aggregation, name=f"ragged_{aggregation}", category="toy",
                                 aggregation=aggregation, examples=examples, labels=labels,
                                 meta={})


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    spec = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tiny_model_dir))
    return load_model(spec, device="cpu")


def previous_path_rows(model, dataset, context_tokens: int) -> dict[int, np.ndarray]:
    """The extraction as it was before the device-side path: run_with_cache over every layer,
    blocks of 256 rows sorted by length, aggregation of the cached float32 tensors. The
    reference the new path must reproduce."""
    tok = model.tokenizer
    ex = dataset.examples
    block = tokenize_examples(tok, ex["text"].to_list(), ex["span_start"].to_list(),
                              ex["span_end"].to_list(), context_tokens, tok.bos_token_id)
    layers = list(range(model.n_layers))
    names = {f"blocks.{layer}.mlp.hook_post": layer for layer in layers}
    out = {layer: np.empty((len(block), model.d_mlp), dtype=np.float32) for layer in layers}
    order = sorted(range(len(block)), key=lambda i: len(block[i].ids))
    for start in range(0, len(order), 32):
        idx = order[start:start + 32]
        ids, attention, mask = acts.pad_batch([block[i] for i in idx], tok.pad_token_id or 0)
        with torch.inference_mode():
            _, cache = model.bridge.run_with_cache(
                ids, attention_mask=attention, names_filter=lambda n: n in names,
                stop_at_layer=max(layers) + 1)
            for name, layer in names.items():
                out[layer][idx] = aggregate(cache[name].float(), mask, dataset.aggregation).numpy()
    return out


@pytest.mark.parametrize("aggregation", ["mean", "max", "last"])
def test_new_path_matches_the_previous_one_in_example_order(tiny, tmp_path, aggregation):
    dataset = ragged_dataset(tmp_path, aggregation)
    reference = previous_path_rows(tiny, dataset, context_tokens=48)
    # distinct rows in layer 1 (layer 0's MLP reads only the token itself: parallel residual),
    # so a row written to the wrong example is caught
    assert len({row.tobytes() for row in reference[1]}) == dataset.examples.height
    for batch_size in (1, 3, None):
        out = tmp_path / f"acts_{batch_size}"
        settings = ExtractionSettings(context_tokens=48, batch_size=batch_size, chunk_rows=4,
                                      store_dtype="float32")
        extract_activations(tiny, dataset, out, settings)
        for layer in (0, 1):
            np.testing.assert_allclose(read_layer(out, layer, dataset), reference[layer],
                                       atol=1e-5, rtol=1e-5)


def test_blocks_are_sorted_by_length_so_order_matters(tiny, tmp_path):
    dataset = ragged_dataset(tmp_path, "last")
    ex = dataset.examples
    block = tokenize_examples(tiny.tokenizer, ex["text"].to_list(), ex["span_start"].to_list(),
                              ex["span_end"].to_list(), 48, 0)
    order = length_order(block)
    assert order != sorted(order)  # the batches really are permuted
    lengths = [len(block[i].ids) for i in order]
    assert lengths == sorted(lengths)
    # batch_size 3, chunks of 4 rows: blocks of 24 rows hold the whole dataset
    assert block_rows(chunk_rows=4, batch_size=3, row_bytes=64) == 24


def test_stored_layer_subset_stops_the_pass_before_the_unembedding(tiny):
    reached = []
    ids = torch.tensor([[0, 5, 6, 7]])
    mask = torch.tensor([[False, True, True, True]])
    reducer = SpanReducer([0], "mlp.hook_post", "mean")
    with tiny.bridge.hooks(fwd_hooks=reducer.hooks() + [
            ("blocks.1.hook_in", lambda t, hook: reached.append("block 1")),
            ("unembed.hook_out", lambda t, hook: reached.append("unembed"))]):
        with torch.inference_mode():
            rows = reducer.run(tiny.bridge, ids, torch.ones_like(ids), mask)
    assert rows.shape == (1, 1, tiny.d_mlp) and rows.dtype == torch.float32
    assert reached == []


def shape(d_model=512, d_mlp=2048, n_layers=6, n_heads=8):
    return ModelShape(n_layers, d_model, d_mlp, n_heads, 12 * n_layers * d_model**2)


def test_batch_size_rule():
    gib = 2**30
    # CPU: plenty of memory -> the token cap; 128-token windows give the old default of 32
    cpu = choose_batch_size(shape(), 128, "float32", "cpu", 64 * gib)
    assert cpu == CPU_TOKENS_PER_BATCH // 128
    assert choose_batch_size(shape(), 128, "float32", "cpu", None) == 32
    # GPU: grows with free memory, up to its much larger cap, always a multiple of 8
    sizes = [choose_batch_size(shape(), 128, "bfloat16", "cuda", free * gib) for free in (1, 8, 80)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1] and sizes[-1] > 32
    assert all(size % 8 == 0 for size in sizes)
    # a bigger model, float32 instead of bf16, longer windows or reserved buffers: never bigger
    base = choose_batch_size(shape(), 128, "bfloat16", "cuda", 8 * gib)
    assert choose_batch_size(shape(4096, 16384, 32, 32), 128, "bfloat16", "cuda", 8 * gib) < base
    assert choose_batch_size(shape(), 128, "float32", "cuda", 8 * gib) < base
    assert choose_batch_size(shape(), 512, "bfloat16", "cuda", 8 * gib) < base
    assert choose_batch_size(shape(), 128, "bfloat16", "cuda", 8 * gib, 4 * gib) < base
    assert choose_batch_size(shape(), 128, "bfloat16", "cuda", 8 * gib, 0, 10**6) < base
    # too little memory still runs, one example at a time
    assert choose_batch_size(shape(), 128, "float32", "cuda", 1000) == 1


def test_block_rows_are_whole_chunks_of_several_batches_within_budget():
    assert block_rows(256, 32, row_bytes=100) == 256
    assert block_rows(256, 512, row_bytes=100) == 16 * 256  # 8 batches of 512
    big = block_rows(256, 128, row_bytes=24 * 8192 * 2)  # pythia-1.4b rows: budget-bound
    assert big == 512 and big * 24 * 8192 * 2 <= acts.BLOCK_BUDGET_BYTES
    assert block_rows(256, 100, row_bytes=10**9) == 256  # never below one chunk...
    assert block_rows(256, 700, row_bytes=10**9) == 768  # ...or one batch


def test_writer_writes_in_the_background_and_in_place(tmp_path):
    array = zarr.create_array(store=str(tmp_path / "a.zarr"), shape=(6, 2), chunks=(2, 2),
                              dtype="float32", zarr_format=3)
    release = threading.Event()

    def slow_rows():
        release.wait(10)
        return np.full((1, 2, 2), 1.0, dtype=np.float32)

    with StoreWriter([array], max_pending=2) as writer:
        writer.put(0, slow_rows)  # returns while the write waits
        writer.put(2, np.full((1, 2, 2), 2.0, dtype=np.float32))
        assert not release.is_set()
        release.set()
        writer.put(4, np.full((1, 2, 2), 3.0, dtype=np.float32))
    np.testing.assert_array_equal(array[:, 0], [1, 1, 2, 2, 3, 3])


def test_writer_errors_reach_the_caller(tmp_path):
    array = zarr.create_array(store=str(tmp_path / "a.zarr"), shape=(4, 2), chunks=(2, 2),
                              dtype="float32", zarr_format=3)
    writer = StoreWriter([array])
    writer.put(0, np.zeros((1, 2, 3), dtype=np.float32))  # wrong width: fails on the thread
    with pytest.raises(ActivationStoreError, match=r"a\.zarr.*rows from 0"):
        for _ in range(100):  # the next put (or close) re-raises it
            writer.put(2, np.zeros((1, 2, 2), dtype=np.float32))
        writer.close()

    def broken():
        raise RuntimeError("device lost")

    writer = StoreWriter([array])
    writer.put(0, broken)
    with pytest.raises(ActivationStoreError, match="device lost"):
        writer.close()
    writer = StoreWriter([array])
    writer.put(0, broken)
    writer.close(abandon=True)  # the caller is already failing: no second error


def test_failed_write_mid_extraction_leaves_no_complete_store(tiny, tmp_path, monkeypatch):
    dataset = ragged_dataset(tmp_path, "last")
    settings = ExtractionSettings(context_tokens=48, batch_size=1, chunk_rows=4)
    out = tmp_path / "acts"
    calls = {"n": 0}
    original = acts._to_host

    def failing_copy(rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return original(rows)

    monkeypatch.setattr(acts, "_to_host", failing_copy)
    with pytest.raises(ActivationStoreError, match="disk full"):
        extract_activations(tiny, dataset, out, settings)
    assert calls["n"] >= 2 and not out.exists()
    assert (tmp_path / "acts.partial").exists()
    with pytest.raises(ActivationStoreError):
        read_layer(out, 0, dataset)
    # a store left by an earlier complete run is never replaced by a failed one
    monkeypatch.setattr(acts, "_to_host", original)
    extract_activations(tiny, dataset, out, settings)
    before = (out / "model.json").read_text()
    calls["n"] = 0
    monkeypatch.setattr(acts, "_to_host", failing_copy)
    with pytest.raises(ActivationStoreError):
        extract_activations(tiny, dataset, out, settings)
    assert (out / "model.json").read_text() == before
    assert read_layer(out, 0, dataset).shape == (dataset.examples.height, tiny.d_mlp)


def test_compute_dtype_from_config(tiny_model_dir, tmp_path):
    spec = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tiny_model_dir))
    dataset = ragged_dataset(tmp_path, "mean")
    settings = ExtractionSettings(context_tokens=48, batch_size=4, store_dtype="float32")
    assert load_model(spec, device="cpu", default_dtype="auto").dtype == "float32"  # CPU
    bf16 = load_model(spec, device="cpu", default_dtype="bfloat16")
    assert bf16.dtype == "bfloat16"
    assert {p.dtype for p in bf16.bridge.parameters()} == {torch.bfloat16}
    own = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tiny_model_dir),
                    dtype="float16")
    assert load_model(own, device="cpu", default_dtype="bfloat16").dtype == "float16"
    info = extract_activations(bf16, dataset, tmp_path / "bf16", settings)
    assert info.compute_dtype == "bfloat16"
    extract_activations(load_model(spec, device="cpu"), dataset, tmp_path / "f32", settings)
    for layer in (0, 1):
        low, full = (read_layer(tmp_path / name, layer, dataset) for name in ("bf16", "f32"))
        assert not np.array_equal(low, full)  # it really ran in bf16...
        np.testing.assert_allclose(low, full, atol=0.05)  # ...and agrees to bf16 precision
    with pytest.raises(ModelLoadError, match="dtype 'int8'"):
        load_model(spec, device="cpu", default_dtype="int8")


def test_throughput_is_recorded_in_model_json(tiny, tiny_model_dir, tmp_path):
    from transformers import GPTNeoXForCausalLM

    dataset = ragged_dataset(tmp_path, "last")
    info = extract_activations(tiny, dataset, tmp_path / "acts",
                               ExtractionSettings(context_tokens=48, layers=(0,)))
    meta = json.loads((tmp_path / "acts" / "model.json").read_text())
    hf = GPTNeoXForCausalLM.from_pretrained(tiny_model_dir)
    non_embedding = sum(p.numel() for p in hf.parameters()) - \
        hf.get_input_embeddings().weight.numel() - hf.get_output_embeddings().weight.numel()
    assert tiny.non_embedding_parameters == non_embedding
    assert meta["flops_per_token"] == pytest.approx(2 * non_embedding / 2)  # 1 of 2 blocks run
    assert meta["tokens_per_second"] > 0 and meta["achieved_tflops"] > 0
    assert meta["tokens_padded"] >= meta["tokens_processed"] > dataset.examples.height
    assert meta["batch_size"] == 80 and meta["compute_dtype"] == "float32"  # 4096 // 48, to 8s
    assert meta["device_name"].startswith("cpu") and meta["peak_fraction"] is None
    # seconds is rounded to the millisecond
    assert meta["tokens_processed"] / meta["tokens_per_second"] == pytest.approx(info.seconds,
                                                                                 abs=6e-4)


def test_throughput_line_and_peak_table():
    assert peak_bf16_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert peak_bf16_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_bf16_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert peak_bf16_tflops("NVIDIA L4") == 121.0 and peak_bf16_tflops("NVIDIA L40S") == 362.0
    assert peak_bf16_tflops("Tesla V100-SXM2-16GB") is None
    gpu = Throughput(tokens=1_000_000, padded_tokens=1_250_000, seconds=2.0,
                     flops_per_token=2 * 19e6, device_name="NVIDIA H100 80GB HBM3",
                     peak_tflops=989.0)
    assert gpu.tokens_per_second == 500_000 and gpu.padding_fraction == pytest.approx(0.2)
    assert gpu.peak_fraction == pytest.approx(500_000 * 38e6 / 989e12)
    assert "500,000 tokens/s" in gpu.describe() and "of the 989 TFLOP/s" in gpu.describe()
    cpu = Throughput(1000, 1000, 1.0, 38e6, "cpu (x86_64, 2 cores)", None)
    assert cpu.peak_fraction is None and "38.0 GFLOP/s on cpu" in cpu.describe()


def test_config_dtype_batch_size_and_devices_are_validated():
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    checked = copy.deepcopy(config)
    validate(checked, str(ROOT / "config" / "schema.yaml"))
    assert checked["extraction"]["dtype"] == "float32"
    for section, key, good, bad in (("extraction", "dtype", "bfloat16", "half"),
                                    ("extraction", "device", "cuda:1", "gpu"),
                                    ("probing", "device", "cuda", "tpu")):
        ok = copy.deepcopy(config)
        ok[section][key] = good
        validate(ok, str(ROOT / "config" / "schema.yaml"))
        wrong = copy.deepcopy(config)
        wrong[section][key] = bad
        with pytest.raises(Exception, match=bad):
            validate(wrong, str(ROOT / "config" / "schema.yaml"))
    catalog = {"models": ["p"], "model_catalog": {
        "p": {"family": "pythia", "local": "x", "n_layers": 6},
        "q": {"family": "pythia", "local": "y", "n_layers": 6, "batch_size": 64,
              "dtype": "bfloat16"}}}
    specs = model_specs(catalog)
    assert (specs["p"].batch_size, specs["p"].dtype) == (None, None)  # auto, extraction.dtype
    assert (specs["q"].batch_size, specs["q"].dtype) == (64, "bfloat16")


def test_a_span_no_token_overlaps_is_read_at_the_preceding_token():
    from sparseprobe.activations.extraction import span_window

    # WordPiece-like offsets for "ab  cd": no token covers the spaces at [2, 4)
    offsets = [(0, 2), (4, 6)]
    assert span_window(offsets, 2, 3, budget=8) == (0, 1, [0])
    assert span_window(offsets, 0, 1, budget=8) == (0, 1, [0])
    # a span before any token falls back to the first token; no tokens at all: nothing
    assert span_window([(3, 5)], 0, 1, budget=8) == (0, 1, [0])
    assert span_window([(0, 0)], 0, 1, budget=8) == (0, 0, [])
