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
from sparseprobe.bases import (
    SAEConfig,
    SAEError,
    SAETrainingSettings,
    TopKSAE,
    encode,
    layer_latents,
    load_sae,
    read_record,
    reconstruction,
    save_sae,
    train_sae,
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


# --- the TopK SAE ------------------------------------------------------------------------------

def planted_codes(n: int = 2000, d_in: int = 16, atoms: int = 24, active: int = 2,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows that are sums of ``active`` of ``atoms`` unit directions with coefficients in
    [1, 3] plus a little noise: (rows [n, d_in], codes [n, atoms], dictionary [atoms, d_in])."""
    rng = np.random.default_rng(seed)
    dictionary = rng.normal(size=(atoms, d_in))
    dictionary /= np.linalg.norm(dictionary, axis=1, keepdims=True)
    codes = np.zeros((n, atoms))
    for row in range(n):
        chosen = rng.choice(atoms, active, replace=False)
        codes[row, chosen] = rng.uniform(1, 3, active)
    rows = codes @ dictionary + 0.01 * rng.normal(size=(n, d_in))
    return rows.astype(np.float32), codes, dictionary


FAST = dict(d_sae=32, k=2, tokens=60_000, batch_size=128, learning_rate=1e-2, dead_after=5000)


@pytest.fixture(scope="module")
def planted():
    return planted_codes()


@pytest.fixture(scope="module")
def trained(planted):
    torch.set_num_threads(1)
    return train_sae(planted[0], SAETrainingSettings(seed=0, **FAST), hook_name="blocks.1.x")


def test_training_is_seeded(planted, trained):
    again = train_sae(planted[0], SAETrainingSettings(seed=0, **FAST), hook_name="blocks.1.x")
    other = train_sae(planted[0], SAETrainingSettings(seed=1, **FAST))
    for key in ("W_enc", "b_enc", "W_dec", "b_dec"):
        assert torch.equal(getattr(trained.sae, key), getattr(again.sae, key)), key
    assert trained.record == again.record
    assert not torch.equal(trained.sae.W_dec, other.sae.W_dec)


def test_sae_recovers_a_planted_dictionary(planted, trained):
    """Every planted direction has a decoder row within a few degrees of it, and the held-out
    rows are reconstructed almost entirely by k = 2 latents."""
    _, _, dictionary = planted
    record = trained.record
    assert record.fraction_variance_explained > 0.9 and record.normalized_mse < 0.1
    assert record.mean_l0 <= 2 and record.n_held_out_rows == 200
    assert record.tokens_seen >= 60_000 and record.steps == -(-60_000 // 128)
    best = (dictionary @ trained.sae.W_dec.detach().numpy().T).max(1)
    assert best.min() > 0.95
    norms = trained.sae.W_dec.detach().norm(dim=1)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_reconstruction_numbers_by_hand():
    """FVE, normalised MSE, dead fraction and L0 of a hand-built SAE: latent 0 copies the first
    coordinate, latent 1 the second, latent 2 never fires (its pre-activation is negative)."""
    sae = TopKSAE(SAEConfig(d_in=3, d_sae=3, k=2))
    with torch.no_grad():
        sae.W_enc.copy_(torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 0]]))
        sae.b_enc.copy_(torch.tensor([0.0, 0.0, -1.0]))
        sae.W_dec.copy_(torch.eye(3))
    x = np.array([[1, 2, 1], [3, 1, -1]], dtype=np.float32)
    quality = reconstruction(sae, x)
    # x_hat = [[1, 2, 0], [3, 1, 0]]: the error is the third column
    assert quality.normalized_mse == pytest.approx(2 / (1 + 4 + 1 + 9 + 1 + 1))
    assert quality.fraction_variance_explained == pytest.approx(1 - 2 / (2 + 0.5 + 2))
    assert quality.dead_fraction == pytest.approx(1 / 3)
    assert quality.mean_l0 == 2
    np.testing.assert_array_equal(encode(sae, x), [[1, 2, 0], [3, 1, 0]])


def test_training_errors_name_the_problem():
    with pytest.raises(SAEError, match="k=5: must be between 1 and d_sae=4"):
        SAEConfig(d_in=3, d_sae=4, k=5)
    with pytest.raises(SAEError, match="non-finite"):
        train_sae(np.array([[np.nan, 1.0], [0.0, 1.0]]), SAETrainingSettings(d_sae=2, k=1))
    with pytest.raises(SAEError, match="batch_size=0: must be >= 1"):
        SAETrainingSettings(d_sae=2, k=1, batch_size=0)
    with pytest.raises(SAEError, match=r"\[rows, d_in\]"):
        train_sae(np.zeros(4), SAETrainingSettings(d_sae=2, k=1))


# --- SAELens' format ---------------------------------------------------------------------------

def test_saelens_round_trip_is_exact(trained, tmp_path):
    import json

    from safetensors.torch import load_file

    out = save_sae(trained.sae, tmp_path / "sae", trained.record)
    cfg = json.loads((out / "cfg.json").read_text())
    assert cfg["architecture"] == "topk" and cfg["k"] == 2 and cfg["d_in"] == 16
    assert cfg["d_sae"] == 32 and cfg["hook_name"] == "blocks.1.x" and cfg["hook_layer"] == 1
    shapes = {key: list(t.shape) for key, t in load_file(out / "sae_weights.safetensors").items()}
    assert shapes == {"W_enc": [16, 32], "b_enc": [32], "W_dec": [32, 16], "b_dec": [16]}
    loaded = load_sae(out)
    assert loaded.cfg == trained.sae.cfg and loaded.source == out
    for key in ("W_enc", "b_enc", "W_dec", "b_dec"):
        assert torch.equal(getattr(loaded, key), getattr(trained.sae, key)), key
    assert read_record(out) == trained.record


def test_saelens_metadata_layout_and_legacy_k_are_read(trained, tmp_path):
    """Newer SAELens keeps the hook under ``metadata``; older ones give k in
    ``activation_fn_kwargs`` and the architecture as ``activation_fn``."""
    import json

    out = save_sae(trained.sae, tmp_path / "sae")
    cfg = json.loads((out / "cfg.json").read_text())
    for key in ("hook_name", "k", "architecture"):
        cfg.pop(key)
    cfg["metadata"] = {"hook_name": "blocks.1.x", "model_name": "m"}
    (out / "cfg.json").write_text(json.dumps(cfg))
    loaded = load_sae(out)
    assert loaded.cfg.hook_name == "blocks.1.x" and loaded.cfg.k == 2
    assert read_record(out) is None


def test_saelens_errors_name_the_file_and_key(trained, tmp_path):
    import json

    from safetensors.torch import load_file, save_file

    out = save_sae(trained.sae, tmp_path / "sae")
    weights = load_file(out / "sae_weights.safetensors")
    save_file({**weights, "W_dec": weights["W_dec"][:, :8].contiguous()},
              out / "sae_weights.safetensors")
    with pytest.raises(SAEError, match=r"sae_weights.safetensors: key 'W_dec' has shape "
                                       r"\[32, 8\].*needs \[32, 16\]"):
        load_sae(out)
    save_file({k: v for k, v in weights.items() if k != "b_enc"}, out / "sae_weights.safetensors")
    with pytest.raises(SAEError, match="key 'b_enc' missing"):
        load_sae(out)
    cfg = json.loads((out / "cfg.json").read_text())
    (out / "cfg.json").write_text(json.dumps({**cfg, "architecture": "jumprelu",
                                              "activation_fn": "relu"}))
    with pytest.raises(SAEError, match="cfg.json: key 'architecture' is 'jumprelu'"):
        load_sae(out)
    (out / "cfg.json").unlink()
    with pytest.raises(SAEError, match="cfg.json: missing"):
        load_sae(out)


# --- latents of a cached layer -----------------------------------------------------------------

@pytest.fixture(scope="module")
def mlp_store(tiny, tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("store") / "acts"
    extract_activations(tiny, tiny_dataset, out, ExtractionSettings(
        context_tokens=16, batch_size=5, chunk_rows=8, store_dtype="float32"))
    return out


def test_latents_of_a_store_equal_encoding_the_layer(mlp_store, tiny_dataset, tmp_path):
    rows = read_layer(mlp_store, 1, tiny_dataset)
    sae = train_sae(rows, SAETrainingSettings(d_sae=16, k=3, tokens=2000, batch_size=8),
                    hook_name="blocks.1.mlp.hook_post").sae
    loaded = load_sae(save_sae(sae, tmp_path / "sae"))
    latents = layer_latents(mlp_store, 1, tiny_dataset, loaded, batch_rows=5)
    assert latents.dtype == np.float32 and latents.shape == (24, 16)
    np.testing.assert_array_equal(latents, encode(sae, rows))
    assert ((latents != 0).sum(1) <= 3).all()


def test_an_sae_of_another_layer_or_width_is_refused(mlp_store, tiny_dataset, tmp_path):
    rows = read_layer(mlp_store, 1, tiny_dataset)
    settings = SAETrainingSettings(d_sae=8, k=2, tokens=200, batch_size=8)
    other_hook = save_sae(train_sae(rows, settings, hook_name="blocks.0.mlp.hook_post").sae,
                          tmp_path / "layer0")
    with pytest.raises(SAEError, match=r"layer0/cfg.json: key 'hook_name' is "
                                       r"'blocks.0.mlp.hook_post', but .*layer_1.zarr holds "
                                       r"'blocks.1.mlp.hook_post'"):
        layer_latents(mlp_store, 1, tiny_dataset, load_sae(other_hook))
    narrow = save_sae(train_sae(rows[:, :32], settings, hook_name="blocks.1.mlp.hook_post").sae,
                      tmp_path / "narrow")
    with pytest.raises(SAEError, match=r"narrow/cfg.json: key 'd_in' is 32, but "
                                       r".*layer_1.zarr has 64 columns"):
        layer_latents(mlp_store, 1, tiny_dataset, load_sae(narrow))


def test_a_planted_latent_is_found_by_single_unit_probing(planted, trained):
    """A label that is "atom j is present" is read by one SAE latent (the one whose decoder row
    is atom j) at F1 near 1 by the single-neuron probe; no single input coordinate reads it
    as well, since the atoms are random directions."""
    from sparseprobe.probing.splits import FeatureData
    from sparseprobe.probing.sweep import ProbeSettings, sweep_layer

    rows, codes, dictionary = planted
    atom = 5
    y = codes[:, atom] > 0
    planted_latent = int(np.argmax(trained.sae.W_dec.detach().numpy() @ dictionary[atom]))
    train = np.arange(len(y)) % 4 != 0
    settings = ProbeSettings(methods=("single_neuron",), dense=False, device="numpy")

    def best_single(x: np.ndarray) -> dict:
        data = FeatureData("atom_5", x[train], y[train], x[~train], y[~train])
        probes = sweep_layer([data], settings)[0]
        return max(probes, key=lambda row: row["f1"])

    found = best_single(encode(trained.sae, rows))
    raw = best_single(rows)
    assert found["neurons"] == [planted_latent] and found["f1"] > 0.9
    assert raw["f1"] < found["f1"] - 0.1


def test_the_usage_examples_run():
    """docs/bases.md's code blocks run, in order, in one namespace."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "bases.md").read_text()
    blocks = [part.split("```", 1)[0] for part in text.split("```python\n")[1:]]
    assert len(blocks) == 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/bases.md", "exec"), namespace)
    assert namespace["x_hat"].shape == (1000, 32)


def test_bases_imports_only_earlier_stages():
    """bases sits between activations and probing: no import of a later stage."""
    import ast
    from pathlib import Path

    later = ("probing", "summaries", "report", "workflow", "cli")
    package = Path(__file__).resolve().parent.parent / "src" / "sparseprobe" / "bases"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not any(name.startswith(f"sparseprobe.{stage}") for stage in later), (
                    f"{path.name} imports {name}")
