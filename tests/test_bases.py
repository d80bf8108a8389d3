"""The bases stage: residual-stream extraction, the TopK SAE (seeded training, reconstruction of
planted sparse codes, dead latents), SAELens' saved format, and SAE latents read from a store."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

from sparseprobe.activations.extraction import (
    ExtractionSettings,
    extract_activations,
    read_layer,
    tokenize_example,
)
from sparseprobe.config import ModelSpec
from sparseprobe.datasets import write_feature_dataset
from sparseprobe.models.loading import load_model


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    spec = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tiny_model_dir))
    return load_model(spec, device="cpu")


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    texts = [f"The high school number {i} is near the living room" for i in range(24)]
    examples = pl.DataFrame({
        "example_id": list(range(24)), "document_id": [str(i) for i in range(24)],
        "text": texts, "span_start": [t.index("school") for t in texts],
        "span_end": [t.index("school") + 6 for t in texts], "stratum": ["a", "b"] * 12,
        "split": ["train", "train", "test"] * 8,
    })
    labels = pl.DataFrame({"feature": ["f"] * 24, "example_id": list(range(24)),
                           "label": [i % 2 == 0 for i in range(24)]})
    return write_feature_dataset(tmp_path_factory.mktemp("ds"), name="tiny", category="toy",
                                 aggregation="last", examples=examples, labels=labels, meta={})


def test_residual_stream_extraction_matches_the_hf_block_output(tiny, tiny_model_dir,
                                                               tiny_dataset, tmp_path):
    """``hook_resid_post`` stores d_model columns per layer: the output of HF's block L at the
    span's last token (the last layer before the final layer norm)."""
    from transformers import GPTNeoXForCausalLM

    settings = ExtractionSettings(hook="hook_resid_post", context_tokens=16, batch_size=5,
                                  chunk_rows=8, store_dtype="float32")
    info = extract_activations(tiny, tiny_dataset, tmp_path / "resid", settings)
    assert info.hook == "blocks.{L}.hook_resid_post" and info.d_mlp == tiny.d_model == 32
    hf = GPTNeoXForCausalLM.from_pretrained(tiny_model_dir).eval()
    captured = {}
    for layer in (0, 1):
        hf.gpt_neox.layers[layer].register_forward_hook(
            lambda m, i, o, layer=layer: captured.update({layer: o[0] if isinstance(o, tuple)
                                                          else o}))
    stored = {layer: read_layer(tmp_path / "resid", layer, tiny_dataset) for layer in (0, 1)}
    assert stored[1].shape == (24, 32)
    ex = tiny_dataset.examples
    for i in (0, 9, 23):
        window = tokenize_example(tiny.tokenizer, ex["text"][i], ex["span_start"][i],
                                  ex["span_end"][i], 16, 0)
        with torch.no_grad():
            hf(torch.tensor([window.ids]))
        for layer in (0, 1):
            np.testing.assert_allclose(stored[layer][i],
                                       captured[layer][0, window.span_positions[-1]].numpy(),
                                       atol=1e-4)
