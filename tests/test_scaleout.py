"""Scale-out: checkpoint sweeps and the -v0 switch in the config, per-job resources, the training
table, and the plan of the paper-sized Pythia sweep (a dry run: nothing is downloaded)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from dag_counts import job_counts
from sparseprobe.config import (
    ConfigError,
    ModelSpec,
    checkpoint_table,
    selected_models,
    size_axis,
    training_axis,
)
from sparseprobe.workflow.resources import (
    JobResources,
    estimated_parameters,
    extraction_resources,
    planned_examples,
    probe_resources,
)
from sparseprobe.summaries.training import k_to_reach, training_table
from sparseprobe.probing.results import RESULT_SCHEMA

ROOT = Path(__file__).resolve().parent.parent


def catalog(**entries) -> dict:
    return {"model_catalog": entries, "models": list(entries)}


PYTHIA = {"family": "pythia", "hub": "EleutherAI/pythia-70m", "n_layers": 6, "d_mlp": 2048}


def test_revisions_become_model_keys_loaded_at_that_revision():
    config = catalog(**{"pythia-70m": {**PYTHIA, "revisions": ["step1000", "step143000"]},
                        "other": {"family": "x", "local": "/m", "n_layers": 2}})
    specs = selected_models(config)
    assert list(specs) == ["pythia-70m@step1000", "pythia-70m@step143000", "other"]
    early = specs["pythia-70m@step1000"]
    assert (early.source, early.revision, early.base, early.checkpoint, early.step) == (
        "EleutherAI/pythia-70m", "step1000", "pythia-70m", "step1000", 1000)
    assert specs["other"].step is None and specs["other"].base is None
    # the extraction params of a model outside a sweep do not change (no re-run after upgrade)
    assert "base" not in specs["other"].to_dict()
    assert ModelSpec.from_dict(early.to_dict()) == early
    # size axis: the last checkpoint; training axis: the family's checkpoints
    assert list(size_axis(specs)) == ["pythia-70m@step143000", "other"]
    assert training_axis(specs) == {"pythia": ["pythia-70m@step1000", "pythia-70m@step143000"]}
    assert checkpoint_table(specs, ["pythia-70m@step1000"]) == [
        {"model": "pythia-70m@step1000", "base_model": "pythia-70m", "checkpoint": "step1000",
         "step": 1000}]


def test_one_checkpoint_can_be_selected_by_key_or_any_revision():
    config = catalog(**{"pythia-70m": {**PYTHIA, "revisions": ["step1000", "step2000"]}})
    config["models"] = ["pythia-70m@step2000", "pythia-70m@step5000"]
    specs = selected_models(config)
    assert list(specs) == ["pythia-70m@step2000", "pythia-70m@step5000"]
    assert specs["pythia-70m@step5000"].revision == "step5000"
    assert training_axis(specs) == {"pythia": list(specs)}
    config["models"] = ["nope@step1"]
    with pytest.raises(ConfigError, match=r"\['nope@step1'\] not declared"):
        selected_models(config)


def test_local_checkpoints_need_a_revision_placeholder():
    entry = {"family": "mine", "local": "runs/a/{revision}", "n_layers": 2,
             "revisions": ["ckpt_100", "ckpt_200"]}
    specs = selected_models(catalog(mine=entry))
    assert [(s.source, s.revision, s.step) for s in specs.values()] == [
        ("runs/a/ckpt_100", None, 100), ("runs/a/ckpt_200", None, 200)]
    with pytest.raises(ConfigError, match=r"model_catalog.mine.local: 'runs/a' has no \{revision\}"):
        selected_models(catalog(mine={**entry, "local": "runs/a"}))


def test_pythia_v0_switch_maps_hub_ids_keys_and_families():
    config = catalog(**{"pythia-70m": PYTHIA,
                        "pythia-160m": {**PYTHIA, "hub": "EleutherAI/pythia-160m",
                                        "revisions": ["step1"]},
                        "gpt2": {"family": "gpt2", "hub": "gpt2", "n_layers": 12}})
    assert list(selected_models(config)) == ["pythia-70m", "pythia-160m@step1", "gpt2"]
    specs = selected_models({**config, "pythia_v0": True})
    assert {k: (s.source, s.family) for k, s in specs.items()} == {
        "pythia-70m-v0": ("EleutherAI/pythia-70m-v0", "pythia-v0"),
        "pythia-160m-v0@step1": ("EleutherAI/pythia-160m-v0", "pythia-v0"),
        "gpt2": ("gpt2", "gpt2"),
    }
    assert list(selected_models({**config, "pythia_v0": True,
                                 "models": ["pythia-70m-v0", "pythia-160m@step1"]})) == [
        "pythia-70m-v0", "pythia-160m-v0@step1"]


def spec(name, n_layers, d_mlp, dtype="float16", batch_size=8):
    return ModelSpec(name=name, family="pythia", source_kind="hub", source=name,
                     n_layers=n_layers, d_mlp=d_mlp, dtype=dtype, batch_size=batch_size)


def test_parameter_estimate_matches_published_pythia_sizes():
    published = {(6, 2048): 70_426_624, (12, 3072): 162_322_944, (24, 4096): 405_334_016,
                 (16, 8192): 1_011_781_632, (32, 16384): 6_857_302_016}
    for (layers, d_mlp), n in published.items():
        assert abs(estimated_parameters(spec("m", layers, d_mlp)) - n) / n < 0.01


def test_planned_examples_from_config_then_from_meta(tmp_path):
    languages = {"builder": "natural_language", "languages": ["en", "fr"],
                 "examples_per_language": 60}
    assert planned_examples(languages) == 120
    assert planned_examples({"builder": "position", "examples": 400}) == 400
    pygments = {"builder": "code_language_pygments", "languages": ["C"],
                "extra_languages": ["Ruby"], "examples_per_language": 10}
    assert planned_examples(pygments) == 20
    meta = tmp_path / "meta.json"
    meta.write_text('{"n_examples": 77}')
    assert planned_examples(languages, meta) == 77
    assert planned_examples(languages, tmp_path / "absent.json") == 120


def test_extraction_resources_grow_with_model_and_data_and_drop_the_cache_on_gpu():
    data = {"builder": "compound_words", "features": ["a"], "examples_per_feature": 1000,
            "context_tokens": 128}
    small, big = spec("70m", 6, 2048, "float32", 64), spec("6.9b", 32, 16384)
    cpu = extraction_resources(big, data, 1000, on_gpu=False)
    gpu = extraction_resources(big, data, 1000, on_gpu=True)
    weights_mb = estimated_parameters(big) * 2 / 2**20
    assert gpu.mem_mb > 1.2 * weights_mb and cpu.mem_mb > gpu.mem_mb
    assert extraction_resources(small, data, 1000, on_gpu=True).mem_mb < gpu.mem_mb
    assert cpu.runtime > gpu.runtime >= 5
    assert (extraction_resources(big, data, 100_000, on_gpu=False).runtime
            > 50 * cpu.runtime > 0)
    assert all(r.mem_mb % 256 == 0 for r in (cpu, gpu))
    assert JobResources(1000, 10).on_attempt(2) == JobResources(2000, 20)


def test_probe_resources_count_one_vs_rest_copies_rotation_and_optimal():
    model = spec("6.9b", 32, 16384)
    per_feature = {"builder": "compound_words", "features": list("abcdefghi")}
    one_vs_rest = {"builder": "natural_language", "languages": list("abcdefghi")}
    base = {"methods": ["mean_diff"], "k": [1, 2, 4]}
    a = probe_resources(model, [0], per_feature, 9000, base)
    b = probe_resources(model, [0], one_vs_rest, 9000, base)
    # one-vs-rest: 9 x 9000 feature rows instead of 9000, each x 16384 neurons x 4 bytes x
    # (raw + scaled), and the dense probe's float64 design (x 2) on 9000 rows instead of 1000
    copies, dense = 8 * 9000 * 16384 * 8, 8000 * 16384 * 16
    assert b.mem_mb - a.mem_mb == pytest.approx((copies + dense) / 2**20, abs=512)
    rotation = probe_resources(model, [0], per_feature, 9000, {**base,
                                                               "methods": ["random_basis"]})
    # the rotated copy of one feature's rows and the DCT's working copy, no d x d matrix
    assert rotation.mem_mb - a.mem_mb == pytest.approx(2 * 1000 * 16384 * 4 / 2**20, abs=512)
    optimal = probe_resources(model, [0, 1], per_feature, 9000, {
        **base, "methods": ["optimal"], "optimal_max_k": 2, "optimal_time_limit": 60})
    assert optimal.runtime >= 1.5 * (2 * 9 * 2 * 60) / 60  # k in {1, 2} x 9 features x 2 layers
    wide = {**base, "k": list(range(1, 1025))}  # long enough to clear the minimum runtime
    plain = probe_resources(model, [0], per_feature, 9000, wide)
    crossed = probe_resources(model, [0], per_feature, 9000, wide, folds=4)
    # every fit once on the whole train split and once per fold, on a fold's own row copies
    assert crossed.runtime > 4 * plain.runtime and crossed.mem_mb > plain.mem_mb


def probe_rows(model, layer_f1: dict[tuple[str, int], float], dense: float) -> list[dict]:
    rows = []
    for (method, k), f1 in [*layer_f1.items(), (("dense", 64), dense)]:
        rows.append({"model": model, "family": "pythia", "n_parameters": 10, "n_layers": 1,
                     "d_mlp": 64, "dataset": "d", "feature": "fr", "task": "classification",
                     "method": method, "k": k, "layer": 0, "f1": f1, "r2": None,
                     "val_f1": f1, "n_test": 10, "n_test_positive": 5, "n_val": 10,
                     "n_val_positive": 5})
    return rows


def test_training_table_orders_checkpoints_by_step_with_sparsity():
    rows = (probe_rows("m@step10", {("mean_diff", 1): 0.5, ("mean_diff", 16): 0.95}, 1.0)
            + probe_rows("m@step2", {("mean_diff", 1): 0.3, ("mean_diff", 16): 0.6}, 0.9)
            + probe_rows("other", {("mean_diff", 1): 0.99, ("mean_diff", 16): 1.0}, 1.0))
    # every column of the one result schema; what a row does not set is null
    probes = pl.DataFrame(rows, schema=RESULT_SCHEMA, strict=False)
    checkpoints = [{"model": "m@step10", "base_model": "m", "checkpoint": "step10", "step": 10},
                   {"model": "m@step2", "base_model": "m", "checkpoint": "step2", "step": 2}]
    table = training_table(probes, checkpoints, [1, 16])
    assert table["step"].to_list() == [2, 10]  # numeric order, not "step10" < "step2"
    assert table["f1_k1"].to_list() == [0.3, 0.5]
    assert table["k_90pct_dense"].to_list() == [None, 16]  # 0.6 < 0.81; 0.95 >= 0.9
    assert k_to_reach(probes.filter(pl.col("model") == "other"))["k_90pct_dense"].to_list() == [1]


def test_training_table_chooses_on_the_configured_split():
    # layer 0 wins on validation, layer 1 on test: the table follows summaries.selection
    rows = []
    for layer, (test, val) in enumerate(((0.4, 0.9), (0.8, 0.5))):
        for row in probe_rows("m@step1", {("mean_diff", 1): test}, test + 0.1):
            rows.append({**row, "n_layers": 2, "layer": layer,
                         "val_f1": val + (0.1 if row["method"] == "dense" else 0.0)})
    probes = pl.DataFrame(rows, schema=RESULT_SCHEMA, strict=False)
    checkpoints = [{"model": "m@step1", "base_model": "m", "checkpoint": "step1", "step": 1}]
    honest = training_table(probes, checkpoints, [1]).row(0, named=True)
    paper = training_table(probes, checkpoints, [1], selection="test").row(0, named=True)
    assert (honest["layer_k1"], honest["f1_k1"], honest["selected_on"]) == (0, 0.4, "validation")
    assert (paper["layer_k1"], paper["f1_k1"], paper["selected_on"]) == (1, 0.8, "test")
    assert honest["small_test"]  # 5 test positives < the default 30
    assert not training_table(probes, checkpoints, [1], min_test_positives=5)["small_test"][0]


def test_pythia_sweep_plans_every_model_and_dataset_without_the_hub():
    """The paper-sized DAG, planned offline: 7 models x 11 datasets; probe jobs per (model,
    dataset) = layers / max(1, 8192 // d_mlp) = 2, 6, 12, 16, 24, 32, 32 (124)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--forceall", "--quiet", "rules",
         "--configfile", "config/pythia.yaml"],  # --forceall: counts whatever is on disk
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts == {
        "fetch_source": 6, "build_dataset": 11, "model_fingerprint": 7,
        "extract_activations_per_dataset": 7 * 11,  # large models: a job per (model, dataset)
        "probe_layers_per_dataset": 124 * 11, "model_summary": 7, "neuron_tables": 7, "scaling_summary": 1,
        "family_tables": 1, "plot_model": 7, "plot_family": 1, "neuron_case_studies": 7,
        "neuron_ablation": 7, "results_page": 7,
        "all": 1,
    }
