"""Issue 19: every cached result knows what made it and whether it is intact.

One tiny store is extracted per session and copied per test; each test damages its copy the way
a disk, a copy or a user would and checks the reader, the probe step and ``sparseprobe verify``.
"""

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from sparseprobe.activations.extraction import ExtractionSettings, extract_activations
from sparseprobe.activations.store import read_layer
from sparseprobe.cli import main
from sparseprobe.config import ModelSpec
from sparseprobe.datasets.schema import load_feature_dataset, write_feature_dataset
from sparseprobe.errors import ActivationStoreError
from sparseprobe.models.identity import model_fingerprint, write_fingerprint
from sparseprobe.models.ladder import remove_stale_temps
from sparseprobe.models.loading import load_model
from sparseprobe.probing.sweep import ProbeSettings, probe_layers
from sparseprobe.workflow.verify import fix, verify_results


def _dataset(directory: Path):
    texts = [f"The high school number {i} is near the living room" for i in range(24)]
    examples = pl.DataFrame({
        "example_id": list(range(24)), "document_id": [str(i) for i in range(24)],
        "text": texts, "span_start": [t.index("school") for t in texts],
        "span_end": [t.index("school") + 6 for t in texts], "stratum": ["a", "b"] * 12,
        "split": ["train", "train", "test"] * 8,
    })
    labels = pl.DataFrame({"feature": ["f"] * 24, "example_id": list(range(24)),
                           "label": [i % 2 == 0 for i in range(24)]})
    return write_feature_dataset(directory, name="tiny", category="toy", aggregation="last",
                                 examples=examples, labels=labels, meta={})


@pytest.fixture(scope="session")
def built(tiny_model_dir, tmp_path_factory):
    """A results/ tree with one model's fingerprint, one dataset and one store (8-row chunks)."""
    root = tmp_path_factory.mktemp("built")
    model_dir = root / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    results = root / "results"
    dataset = _dataset(results / "datasets" / "tiny")
    spec = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(model_dir))
    fingerprint = model_fingerprint(spec)
    write_fingerprint(fingerprint, results / "models" / "tiny" / "fingerprint.json")
    extract_activations(load_model(spec, device="cpu"), dataset,
                        results / "activations" / "tiny" / "tiny",
                        ExtractionSettings(context_tokens=16, chunk_rows=8), fingerprint)
    return root


@pytest.fixture
def tree(built, tmp_path):
    """A private copy of the built tree (its model.json points at the copied model)."""
    root = tmp_path / "w"
    shutil.copytree(built, root)
    path = root / "results" / "models" / "tiny" / "fingerprint.json"
    data = json.loads(path.read_text())
    data["source"] = str(root / "model")
    path.write_text(json.dumps(data))
    return root


def _store(root):
    return root / "results" / "activations" / "tiny" / "tiny"


def _dataset_of(root):
    return load_feature_dataset(root / "results" / "datasets" / "tiny")


def test_intact_store_reads_and_verifies(tree):
    store = _store(tree)
    assert read_layer(store, 1, _dataset_of(tree)).shape == (24, 64)
    meta = json.loads((store / "model.json").read_text())
    assert meta["format"] == 2 and len(meta["model_fingerprint"]) == 32
    zarr_json = json.loads((store / "layer_0.zarr" / "zarr.json").read_text())
    assert {"name": "zstd", "configuration": {"level": 0, "checksum": True}} in zarr_json["codecs"]
    assert verify_results(tree / "results") == []


def test_deleted_chunk_is_an_error_not_zeros(tree):
    store = _store(tree)
    (store / "layer_1.zarr" / "c" / "1" / "0").unlink()
    with pytest.raises(ActivationStoreError, match=r"layer_1.zarr.*missing, first c/1/0.*"
                                                   r"snakemake --forcerun"):
        read_layer(store, 1, _dataset_of(tree))
    [problem] = verify_results(tree / "results")
    assert problem.path == store and "c/1/0" in problem.reason


@pytest.mark.parametrize("damage", ["flipped", "random"])
def test_corrupt_chunk_names_store_array_and_chunk(tree, damage):
    store = _store(tree)
    chunk = store / "layer_0.zarr" / "c" / "2" / "0"
    data = bytearray(chunk.read_bytes())
    if damage == "flipped":
        for i in range(20, 84):  # 64 bytes inside the frame: only the checksum notices
            data[i] ^= 0xFF
    else:
        data = bytearray(np.random.default_rng(0).bytes(len(data)))
    chunk.write_bytes(bytes(data))
    with pytest.raises(ActivationStoreError, match=rf"{store}: array layer_0.zarr, chunk row 2 "
                                                   r"\(rows 16:24\) is corrupt"):
        read_layer(store, 0, _dataset_of(tree))
    assert [p.path for p in verify_results(tree / "results")] == [store]


def test_truncated_parquet_is_listed_and_fixed_with_what_was_built_from_it(tree):
    results = tree / "results"
    probes = results / "probes" / "tiny" / "tiny" / "layers_0-1.parquet"
    summary = results / "summaries" / "models" / "tiny" / "probes.parquet"
    for path in (probes, summary):
        path.parent.mkdir(parents=True)
        pl.DataFrame({"x": list(range(100))}).write_parquet(path)
    probes.write_bytes(probes.read_bytes()[:-30])
    metadata = tree / ".snakemake" / "metadata"
    metadata.mkdir(parents=True)
    record = base64.urlsafe_b64encode(str(summary.relative_to(tree)).encode()).decode()
    (metadata / record).write_text(json.dumps({"input": [str(probes.relative_to(tree))]}))
    [problem] = verify_results(results)
    assert problem.path == probes and "unreadable Parquet" in problem.reason
    assert main(["verify", "--results", str(results)]) == 1
    assert probes.exists()
    assert main(["verify", "--results", str(results), "--fix"]) == 0
    assert not probes.exists() and not summary.exists() and _store(tree).exists()
    assert main(["verify", "--results", str(results)]) == 0


def test_changed_weights_are_refused_and_reported(tree):
    store = _store(tree)
    weights = next((tree / "model").glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    [problem] = verify_results(tree / "results")
    assert problem.path.name == "fingerprint.json" and weights.name in problem.reason
    spec = ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tree / "model"))
    now = model_fingerprint(spec)
    with pytest.raises(ActivationStoreError, match="weights now have fingerprint"):
        probe_layers(_dataset_of(tree), store, [0], ProbeSettings(k_grid=(1,)),
                     model_fingerprint=now.digest)


def test_changed_dataset_with_old_meta_json_is_refused(tree):
    directory = tree / "results" / "datasets" / "tiny"
    examples = pl.read_parquet(directory / "examples.parquet")
    examples.with_columns(text=pl.col("text").str.replace("near", "nigh")).write_parquet(
        directory / "examples.parquet")  # meta.json keeps the old fingerprint
    dataset = _dataset_of(tree)
    with pytest.raises(ActivationStoreError, match="now hash to"):
        read_layer(_store(tree), 0, dataset)
    with pytest.raises(ActivationStoreError, match="now hash to"):
        probe_layers(dataset, _store(tree), [0], ProbeSettings(k_grid=(1,)))
    assert [p.path for p in verify_results(tree / "results")] == [_store(tree)]


def test_old_format_store_says_re_extract(tree):
    store = _store(tree)
    meta = json.loads((store / "model.json").read_text())
    for key in ("format", "model_fingerprint", "weights_sha256", "tokenizer_sha256"):
        meta.pop(key)
    (store / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ActivationStoreError, match=r"store format 1.*re-extract"):
        probe_layers(_dataset_of(tree), store, [0], ProbeSettings(k_grid=(1,)))


def test_stale_temp_dirs_of_killed_runs_are_removed(tmp_path):
    out = tmp_path / "ladder-1"
    stale = tmp_path / ".ladder-1.tmp-0123abcd"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"x")
    other = tmp_path / ".ladder-10.tmp-0123abcd"
    other.mkdir()
    assert remove_stale_temps(out) == [stale]
    assert not stale.exists() and other.exists()


def test_configured_engine_tolerance_reaches_the_engine(tree, monkeypatch):
    import sparseprobe.probing.engine as engine

    seen = []
    original = engine.fit_logistic_batch

    def spy(*args, **kwargs):
        seen.append(kwargs["tol"])
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "fit_logistic_batch", spy)
    probe_layers(_dataset_of(tree), _store(tree), [0],
                 ProbeSettings(k_grid=(1, 2), engine_tol=1e-3, dense=False))
    assert seen and set(seen) == {1e-3}
    assert ProbeSettings().engine_tol == 1e-8  # the default run's numbers do not move


def test_store_removed_by_hand_is_found_and_its_consumers_removed(tree):
    results = tree / "results"
    store = _store(tree)
    probes = results / "probes" / "tiny" / "tiny" / "layers_0-1.parquet"
    probes.parent.mkdir(parents=True)
    pl.DataFrame({"x": [1]}).write_parquet(probes)
    metadata = tree / ".snakemake" / "metadata"
    metadata.mkdir(parents=True)
    record = base64.urlsafe_b64encode(str(probes.relative_to(tree)).encode()).decode()
    (metadata / record).write_text(json.dumps({"input": [str(store.relative_to(tree))]}))
    shutil.rmtree(store)
    [problem] = verify_results(results)
    assert problem.path == store and "missing, but results/probes" in problem.reason
    assert fix([problem], tree) == [probes] and not probes.exists()
    assert verify_results(results) == []



def test_fingerprint_inputs_wait_for_the_models_the_dag_builds(tmp_path):
    from sparseprobe.config import ModelSpec
    from sparseprobe.models.identity import fingerprint_inputs

    package = ModelSpec("minilm", "minilm", "package", "resources/models/minilm")
    assert fingerprint_inputs(package) == ["resources/models/minilm"]
    ladder = ModelSpec("ladder-1", "ladder", "ladder", "results/ladder/models/ladder-1")
    assert fingerprint_inputs(ladder) == ["results/ladder/models/ladder-1"]
    # a checkpoint and a residual-stream variant wait for the directory ladder_train writes
    checkpoint = ModelSpec("ladder-1@step9", "ladder", "ladder",
                           "results/ladder/models/ladder-1/checkpoints/step9", base="ladder-1",
                           checkpoint="step9")
    resid = ModelSpec("ladder-1-resid", "ladder-resid", "ladder",
                      "results/ladder/models/ladder-1", basis="resid")
    assert fingerprint_inputs(checkpoint) == fingerprint_inputs(resid) == [
        "results/ladder/models/ladder-1"]
    assert fingerprint_inputs(ModelSpec("p", "p", "hub", "EleutherAI/pythia-70m")) == []


def test_k_fold_validation_scores_every_train_example_and_keeps_the_test_fit(tree):
    dataset, store = _dataset_of(tree), _store(tree)
    settings = ProbeSettings(k_grid=(1, 4))
    plain = probe_layers(dataset, store, [0], settings)
    crossed = probe_layers(dataset, store, [0], settings, validation_folds=2)
    assert crossed["n_val"].to_list() == crossed["n_train"].to_list() == [16] * crossed.height
    assert crossed["n_val_positive"].to_list() == [8] * crossed.height
    assert crossed["val_f1"].is_not_null().all()
    # the reported probe is the same fit on the whole train split, with or without the folds
    assert crossed["f1"].to_list() == plain["f1"].to_list()
    again = probe_layers(dataset, store, [0], settings, validation_folds=2)
    assert again["val_f1"].to_list() == crossed["val_f1"].to_list()  # seeded
