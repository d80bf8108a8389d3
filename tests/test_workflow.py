"""End to end: the real Snakefile on a tiny config (two tiny ladder models, two datasets;
tests/workflow_fixture.py). The run itself is the session fixture ``completed`` (conftest.py),
shared with tests/test_report.py; tests here that change the working copy run after those."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from dag_counts import job_counts
from workflow_fixture import snakemake

pytestmark = pytest.mark.workflow


def mtimes(work: Path, pattern: str) -> dict[str, float]:
    return {str(p.relative_to(work)): p.stat().st_mtime_ns for p in work.glob(pattern)}


def test_full_run_outputs(completed: Path):
    work = completed
    for model, layers in (("tiny-1", 1), ("tiny-2", 2)):
        for dataset in ("languages", "compounds"):
            store = work / "results" / "activations" / model / dataset
            assert sorted(p.name for p in store.glob("layer_*.zarr")) == [
                f"layer_{i}.zarr" for i in range(layers)
            ]
    probes = pl.read_parquet(work / "results/summaries/models/tiny-2/probes.parquet")
    assert set(probes["layer"]) == {0, 1}
    assert set(probes["dataset"]) == {"languages", "compounds"}
    assert set(probes["feature"]) == {"en", "fr", "de", "high-school", "credit-card"}
    assert sorted(set(probes.filter(pl.col("method") == "mean_diff")["k"])) == [1, 2, 4, 16]
    assert probes.filter(pl.col("method") == "dense")["k"].unique().to_list() == [64]  # 4 x d_model
    assert probes["f1"].is_between(0, 1).all() and probes["roc_auc"].is_between(0, 1).all()
    scaling = pl.read_parquet(work / "results/summaries/scaling/ladder.parquet")
    assert {"f1_k1", "f1_k16", "f1_dense"} <= set(scaling.columns)
    assert scaling.height == 2 * 5
    for figure in ("models/tiny-2/sparsity__compounds", "models/tiny-1/heatmap__languages",
                   "families/ladder/best_layer__compounds", "families/ladder/features__languages",
                   "families/ladder/summary"):
        assert (work / f"results/plots/{figure}.png").stat().st_size > 10_000, figure
    # the summary tables (docs/summaries.md): categories from the datasets' meta.json
    assert set(probes["category"]) == {"natural_language", "compound_words"}
    for model in ("tiny-1", "tiny-2"):
        neurons = pl.read_parquet(work / f"results/summaries/models/{model}/neurons.parquet")
        assert neurons.height == 5 and neurons["f1"].is_between(0, 1).all()
        assert pl.read_csv(work / f"results/summaries/models/{model}/neurons.csv").height == 5
        assert (work / f"results/summaries/models/{model}/neurons_above_threshold.csv").is_file()
    assert {"category", "f1_single", "k_90", "k_95", "gap"} <= set(scaling.columns)
    means = pl.read_parquet(work / "results/summaries/scaling/ladder__models.parquet")
    assert means.filter(pl.col("category") == "all")["n_features"].to_list() == [5, 5]
    dynamics = pl.read_parquet(work / "results/summaries/scaling/ladder__dynamics.parquet")
    assert dynamics.height == 5 and dynamics["dynamic"].is_not_null().all()
    assert (work / "results/ladder/models/tiny-1/training.json").is_file()
    # a tiny model's layers share one probe job (probing.neurons_per_job)
    assert [p.name for p in (work / "results/probes/tiny-2/compounds").glob("*.parquet")] == [
        "layers_0-1.parquet"]
    for rule in ("ladder", "extract_activations", "probe_layers"):
        assert list((work / "results/benchmarks" / rule).rglob("*.tsv")), rule
    # everything is up to date: a second run has nothing to do
    assert "Nothing to be done" in snakemake(work, "-n").stdout + snakemake(work, "-n").stderr


def test_rerun_one_model_touches_nothing_else(completed: Path):
    work = completed
    before_1 = mtimes(work, "results/*/**/tiny-1/**/*") | mtimes(work, "results/ladder/models/tiny-1/*")
    before_2 = mtimes(work, "results/probes/tiny-2/**/*.parquet")
    snakemake(work, "--config", "models=[tiny-2]", "--forcerun", "extract_activations")
    assert mtimes(work, "results/*/**/tiny-1/**/*") | mtimes(
        work, "results/ladder/models/tiny-1/*") == before_1
    after_2 = mtimes(work, "results/probes/tiny-2/**/*.parquet")
    assert after_2.keys() == before_2.keys()
    assert all(after_2[k] > before_2[k] for k in before_2)


def test_changing_one_model_entry_reruns_only_that_model(completed: Path):
    work = completed
    config_path = work / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["ladder"]["rungs"]["tiny-2"]["d_mlp"] = 48
    config_path.write_text(yaml.safe_dump(config))
    dry = snakemake(work, "-n")
    plan = dry.stdout + dry.stderr
    # job lines name their wildcards (sparseprobe.workflow.console): tiny-2's training and
    # everything after it, nothing of tiny-1
    assert re.search(r"Job \d+: train model +tiny-2$", plan, re.M), plan
    assert not re.search(r"\btiny-1\b", plan), plan
    before_1 = mtimes(work, "results/probes/tiny-1/**/*.parquet")
    snakemake(work)
    assert mtimes(work, "results/probes/tiny-1/**/*.parquet") == before_1
    probes = pl.read_parquet(work / "results/summaries/models/tiny-2/probes.parquet")
    assert probes["d_mlp"].unique().to_list() == [48]


def test_bad_config_key_is_named(workdir: Path):
    proc = snakemake(workdir, "-n", "--config", "probing={'C': 'strong'}", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "['probing']['C']" in out and "strong" in out
    proc = snakemake(workdir, "-n", "--config", "models=[nope]", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "['nope'] not declared" in out


# Partial re-runs and training checkpoints, planned (-n) and counted per rule on the completed run.

def plan(work: Path, *args: str) -> dict[str, int]:
    """Jobs per rule that ``snakemake -n`` would run ({} when everything is up to date)."""
    proc = snakemake(work, *args, "-n", "--quiet", "rules")
    return job_counts(proc.stdout + proc.stderr)


def test_rerunning_one_model_plans_only_its_jobs(completed: Path):
    work = completed
    assert plan(work) == {}
    # a small model: one extraction job and one probe job over both datasets
    one_model = {"extract_activations": 1, "probe_layers": 1, "model_summary": 1}
    # what reads one model's summary: its neuron table, figures, case studies and ablation
    downstream = {"neuron_tables": 1, "plot_model": 1, "neuron_case_studies": 1,
                  "neuron_ablation": 1, "results_page": 1}
    family = {"scaling_summary": 1, "family_tables": 1, "plot_family": 1}
    # the model selection: the family tables need two models, so none is planned
    assert plan(work, "--config", "models=[tiny-1]", "--forcerun", "extract_activations") == {
        **one_model, **downstream, "all": 1}
    # the model's own summary as the target (docs/scaleout.md)
    assert plan(work, "results/summaries/models/tiny-1/best_layers.parquet",
                "--forcerun", "extract_activations") == one_model
    # one (model, dataset) forced in the full selection: its model's extraction and probe job
    # (both datasets: a small model's datasets share a job) and the family tables
    assert plan(work, "--forcerun", "results/activations/tiny-1/languages") == {
        "extract_activations": 1, "probe_layers": 1, "model_summary": 1, **downstream, **family,
        "all": 1}
    # a new ladder rung trains and probes only itself (the corpus and tokenizer are kept)
    rung = work / "rung.yaml"
    rung.write_text(yaml.safe_dump({
        "ladder": {"rungs": {"tiny-3": {"d_model": 16, "n_layers": 1, "n_heads": 2}}},
        "models": ["tiny-1", "tiny-2", "tiny-3"]}))
    assert plan(work, "--configfile", "config/config.yaml", str(rung)) == {
        "ladder_train": 1, "model_fingerprint": 1, "extract_activations": 1, "probe_layers": 1,
        "model_summary": 1,
        **downstream, **family, "all": 1}


def save_checkpoint(model_dir: Path, out: Path, seed: int) -> None:
    """A differently initialised copy of the tiny GPT-NeoX (same shape and tokenizer)."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, GPTNeoXForCausalLM

    torch.manual_seed(seed)
    GPTNeoXForCausalLM(AutoConfig.from_pretrained(model_dir)).save_pretrained(out)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)


def test_local_checkpoint_sweep_adds_only_new_jobs_and_a_training_table(completed: Path,
                                                                         tiny_model_dir: Path):
    work = completed
    for seed, step in ((1, "step10"), (2, "step20")):
        save_checkpoint(tiny_model_dir, work / "checkpoints" / step, seed)
    sweep = work / "checkpoints.yaml"
    sweep.write_text(yaml.safe_dump({
        "model_catalog": {"ckpt": {"family": "tinyneox", "local": "checkpoints/{revision}",
                                   "n_layers": 2, "d_mlp": 64, "revisions": ["step10", "step20"]}},
        "models": ["tiny-1", "tiny-2", "ckpt"]}))
    configs = ["--configfile", "config/config.yaml", str(sweep)]
    # adding two checkpoints: their jobs only (the ladder's are up to date; one checkpoint on
    # the size axis, so no new scaling table)
    per_model = {"neuron_tables": 2, "plot_model": 2, "neuron_case_studies": 2,
                 "neuron_ablation": 2, "results_page": 2}
    assert plan(work, *configs) == {"model_fingerprint": 2, "extract_activations": 2,
                                    "probe_layers": 2,
                                    "model_summary": 2, **per_model, "training_summary": 1,
                                    "plot_training": 1, "all": 1}
    snakemake(work, *configs)
    table = pl.read_parquet(work / "results/summaries/training/tinyneox.parquet")
    assert table.height == 2 * 5  # 2 checkpoints x 5 features
    assert table.filter(pl.col("feature") == "fr")["step"].to_list() == [10, 20]
    assert set(table["model"]) == {"ckpt@step10", "ckpt@step20"}
    assert {"f1_k1", "f1_k16", "f1_dense", "k_90pct_dense", "checkpoint"} <= set(table.columns)
    for dataset in ("languages", "compounds"):
        assert (work / f"results/plots/families/tinyneox/training__{dataset}.png").stat().st_size
    probes = pl.read_parquet(work / "results/summaries/models/ckpt@step20/probes.parquet")
    assert probes["model"].unique().to_list() == ["ckpt@step20"]
    assert plan(work, *configs) == {}
    # adding a dataset: built once, then each checkpoint's extraction and probe job (a small
    # model's job covers every dataset; the checkpoints' summaries and training table read it)
    extra = work / "extra_dataset.yaml"
    extra.write_text(yaml.safe_dump({"datasets": {"compounds_b": {
        "builder": "compound_words", "features": ["social-media", "human-rights"],
        "examples_per_feature": 60, "aggregation": "last", "context_tokens": 16}},
        "models": ["ckpt"]}))
    assert plan(work, *configs, str(extra)) == {
        "build_dataset": 1, "extract_activations": 2, "probe_layers": 2, "model_summary": 2,
        **per_model, "training_summary": 1, "plot_training": 1, "all": 1}


def test_neuron_case_studies_and_ablation(completed: Path):
    work = completed
    for model in ("tiny-1", "tiny-2"):
        index = pl.read_parquet(work / f"results/neurons/{model}/case_studies.parquet")
        assert index.height == 2 and index["rank"].to_list() == [1, 2]
        hist = work / f"results/neurons/{model}/case_studies/histograms"
        assert sorted(p.name for p in hist.glob("*.png")) == sorted(index["histogram"].to_list())
        rows = pl.read_parquet(work / f"results/neurons/{model}/ablation.parquet")
        assert set(rows["feature"]) == {"fr"} and set(rows["in_class"]) == {True, False}
        assert (rows["n_tokens"] <= 23).all() and rows["loss_clean"].min() > 0
        assert (work / f"results/neurons/{model}/ablation.png").stat().st_size > 5000


def test_results_page_shows_this_runs_tables(completed: Path):
    """The report's results page of a model: its numbers are those of its own tables."""
    work = completed
    page = (work / "results/report/results/tiny-2.html").read_text()
    neurons = pl.read_parquet(work / "results/summaries/models/tiny-2/neurons.parquet")
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page
    assert f"<td>{neurons['f1'].mean():.3f}</td>" in page  # the headline's mean single-neuron F1
    assert "Chosen on test vs chosen on validation" in page and "<td>validation</td>" in page
    from sparseprobe.report.results_doc import CANDIDATE_MIN_F1
    from sparseprobe.summaries.neurons import candidate_neurons

    probes = pl.read_parquet(work / "results/summaries/models/tiny-2/probes.parquet")
    candidates = candidate_neurons(probes, CANDIDATE_MIN_F1, per_feature=1)
    for row in candidates.head(10).iter_rows(named=True):  # each candidate, chosen on validation
        assert f"<td>{row['dataset']} / {row['feature']}</td>" in page
        assert f"<td>{row['val_f1']:.3f}</td>" in page
    if candidates.is_empty():
        assert "No single neuron reaches validation F1" in page


def test_a_coin_flip_feature_chosen_on_validation_scores_chance_on_test(completed: Path):
    """Through the whole DAG (a table dataset of eight coin-flip labels on tiny-2): the single
    neuron validation chooses scores what a coin flip allows on test; the one the test split
    would choose (the paper's protocol) looks like a detector. Runs last: it adds a dataset."""
    import numpy as np

    from sparseprobe import summaries as S

    work = completed
    rng = np.random.default_rng(11)
    words = ["the", "river", "stone", "green", "quietly", "market", "under", "seven", "light"]
    coins = {f"coin{i}": rng.random(400) < 0.5 for i in range(8)}
    pl.DataFrame({"text": [" ".join(rng.choice(words, size=12)) for _ in range(400)],
                  **coins}).write_csv(work / "coins.csv")
    overlay = work / "coins.yaml"
    overlay.write_text(yaml.safe_dump({"datasets": {"coins": {
        "builder": "table", "path": "coins.csv", "text_column": "text",
        "label_columns": list(coins), "aggregation": "mean", "context_tokens": 16}},
        "models": ["tiny-2"]}))
    snakemake(work, "--configfile", "config/config.yaml", str(overlay))
    probes = pl.read_parquet(work / "results/summaries/models/tiny-2/probes.parquet").filter(
        pl.col("dataset") == "coins")
    honest = S.best_neurons(probes)
    paper = S.best_neurons(probes, "test")
    assert honest.height == paper.height == 8 and set(honest["selected_on"]) == {"validation"}
    chance = probes.filter(pl.col("method") == "single_neuron")["f1"].mean()
    assert abs(honest["f1"].mean() - chance) < 0.06  # validation's choice: at chance
    assert paper["f1"].mean() > honest["f1"].mean() + 0.05  # test's choice: optimistic
