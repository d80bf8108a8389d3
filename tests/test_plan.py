"""The workflow plan (sparseprobe.workflow.plan): targets, probe jobs, resources, constraints.

These are the numbers `snakemake -n` reports for the shipped configs (tests/test_scaleout.py
checks the same counts through Snakemake itself); here they come from the plan alone.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from sparseprobe.config import ConfigError
from sparseprobe.workflow.plan import MODEL_FIGURES, WorkflowPlan, dataset_files

ROOT = Path(__file__).resolve().parent.parent


def load(*names: str) -> dict:
    """The configs merged the way Snakemake merges --configfile layers (nested dicts update)."""
    def merge(base: dict, extra: dict) -> dict:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value
        return base

    config: dict = {}
    for name in ("config.yaml", *names):
        merge(config, yaml.safe_load((ROOT / "config" / name).read_text()))
    return config


@pytest.fixture(scope="module")
def default() -> dict:
    return load()


def test_default_plan_targets_every_model_and_the_ladder_family(default):
    plan = WorkflowPlan.from_config(default)
    models, datasets = list(plan.models), list(plan.datasets)
    assert len(models) == 7 and len(datasets) == 10
    assert plan.scaled_families() == ["ladder"] and plan.training == {}
    summaries = plan.summary_targets()
    assert len(summaries) == 7 * 2 + 3 + 7 + 7  # model tables, scaling tables, case studies, ablation
    assert "results/summaries/scaling/ladder__dynamics.parquet" in summaries
    figures = plan.figure_targets()
    assert len(figures) == len(set(figures)) == 7 * len(MODEL_FIGURES) * 10 + 2 * 10 + 1
    assert figures[0] == f"results/plots/models/{models[0]}/sparsity__{datasets[0]}.png"
    # one probe job per (model, dataset): every rung's layers fit one job
    assert sum(len(plan.probe_files(m)) for m in models) == 70


def test_one_model_gets_no_family_targets(default):
    config = {**default, "models": ["ladder-3"]}
    plan = WorkflowPlan.from_config(config)
    assert plan.scaled_families() == []
    assert not any("/families/" in t or "/scaling/" in t
                   for t in plan.summary_targets() + plan.figure_targets())


def test_case_studies_off_and_ablation_models(default):
    config = copy.deepcopy(default)
    config["neurons"]["case_studies"] = 0
    config["ablation"]["models"] = ["ladder-7"]
    targets = WorkflowPlan.from_config(config).neuron_targets()
    assert targets == ["results/neurons/ladder-7/ablation.parquet"]


def test_pythia_plans_the_papers_probe_jobs_and_checkpoint_sweeps():
    plan = WorkflowPlan.from_config(load("pythia.yaml"))
    assert sum(len(plan.probe_files(m)) for m in plan.models) == 1364  # snakemake -n's count
    assert plan.probe_groups("pythia-6.9b")["31-31"] == [31]
    sweep = WorkflowPlan.from_config(load("pythia.yaml", "pythia_checkpoints.yaml"))
    assert list(sweep.training) == ["pythia"] and len(sweep.training["pythia"]) == 30
    # the size axis keeps each swept model's last checkpoint only
    assert "pythia-70m@step143000" in sweep.families["pythia"]
    assert "pythia-70m@step0" not in sweep.families["pythia"]
    training = [t for t in sweep.figure_targets() if "/training__" in t]
    assert len(training) == len(sweep.datasets)


def test_wildcard_constraints_match_only_the_run(default):
    constraints = WorkflowPlan.from_config(default).wildcard_constraints()
    assert re.fullmatch(constraints["model"], "ladder-7")
    assert not re.fullmatch(constraints["model"], "ladder-8")
    assert re.fullmatch(constraints["layers"], "0-3")
    empty = WorkflowPlan.from_config({**default, "models": []}).wildcard_constraints()
    assert empty["model"] == "NONE"


def test_resources_grow_with_the_attempt_and_gpu_follows_the_device(default):
    plan = WorkflowPlan.from_config(default)
    job = SimpleNamespace(model="ladder-7", dataset="compound_words", layers="0-3")
    assert plan.extraction_mem_mb(job, 2) == 2 * plan.extraction_mem_mb(job, 1) > 0
    assert plan.probe_runtime(job, 3) == 3 * plan.probe_runtime(job, 1) > 0
    assert plan.extraction_gpus(job) == 0
    cuda = copy.deepcopy(default)
    cuda["extraction"]["device"] = "cuda:0"
    assert WorkflowPlan.from_config(cuda).extraction_gpus(job) == 1


def test_job_inputs(default):
    plan = WorkflowPlan.from_config(default)
    rung = SimpleNamespace(model="ladder-2")
    assert plan.model_input(rung) == ["results/ladder/models/ladder-2"]
    assert plan.model_spec(rung)["name"] == "ladder-2"
    assert dataset_files("latex") == [f"results/datasets/latex/{name}" for name in
                                      ("examples.parquet", "labels.parquet", "meta.json")]


def test_a_config_without_datasets_is_named():
    with pytest.raises(ConfigError, match="'datasets'"):
        WorkflowPlan.from_config({"models": []})


def test_small_models_get_one_job_per_step_and_large_ones_a_job_per_dataset(default):
    plan = WorkflowPlan.from_config(default)
    assert all(plan.per_model_jobs(m) for m in plan.models)  # every rung, 0.13M to 1.8M
    assert re.fullmatch(plan.model_pattern(per_model=True), "ladder-7")
    assert plan.model_pattern(per_model=False) == "NONE"
    jobs = plan.extraction_jobs("ladder-2")
    assert [job["dataset"] for job in jobs] == list(plan.datasets)
    assert jobs[0]["store"] == f"results/activations/ladder-2/{jobs[0]['dataset']}"
    assert [job["table"] for job in plan.probe_jobs("ladder-2", "0-0")] == plan.probe_files(
        "ladder-2")
    # a per-model job: the most memory of its datasets, the sum of their times
    one = [plan.extraction_job(SimpleNamespace(model="ladder-7", dataset=d))
           for d in plan.datasets]
    whole = plan.extraction_job(SimpleNamespace(model="ladder-7"))
    assert whole.mem_mb == max(j.mem_mb for j in one)
    assert whole.runtime == sum(j.runtime for j in one)
    probe = plan.probe_job(SimpleNamespace(model="ladder-7", layers="0-3"))
    assert probe.runtime == sum(plan.probe_job(SimpleNamespace(
        model="ladder-7", dataset=d, layers="0-3")).runtime for d in plan.datasets)
    pythia = WorkflowPlan.from_config(load("pythia.yaml"))
    assert not any(pythia.per_model_jobs(m) for m in pythia.models)  # 70M and up
    assert pythia.model_pattern(per_model=True) == "NONE"
    assert pythia.extraction_jobs("pythia-70m", ["latex"])[0]["context_tokens"] > 0


def test_ladder_seeds_plan_a_replicate_family(default):
    config = copy.deepcopy(default)
    config["ladder"]["seeds"] = [0, 1]
    config["models"] = ["ladder-6", "ladder-7"]
    plan = WorkflowPlan.from_config(config)
    assert list(plan.models) == ["ladder-6", "ladder-6-seed1", "ladder-7", "ladder-7-seed1"]
    assert plan.scaled_families() == ["ladder", "ladder-seed1"]
    assert plan.model_input(SimpleNamespace(model="ladder-7-seed1")) == [
        "results/ladder/models/ladder-7-seed1"]
    assert "results/summaries/scaling/ladder-seed1__models.parquet" in plan.summary_targets()


def test_ladder_checkpoints_plan_a_training_axis(default):
    config = copy.deepcopy(default)
    config["ladder"]["checkpoints"] = [0.25, 0.5]
    config["models"] = ["ladder-6", "ladder-7"]
    plan = WorkflowPlan.from_config(config)
    steps = config["ladder"]["training"]["tokens"] // (8 * 128)  # 390 steps
    assert list(plan.models)[:3] == [f"ladder-6@step{round(steps / 4)}",
                                     f"ladder-6@step{round(steps / 2)}", "ladder-6"]
    assert plan.training == {"ladder": list(plan.models)}
    assert plan.scaled_families() == ["ladder"]  # across size: ladder-6 and ladder-7 only
    checkpoint = SimpleNamespace(model=f"ladder-7@step{round(steps / 4)}")
    assert plan.model_input(checkpoint) == ["results/ladder/models/ladder-7"]
    assert "results/summaries/training/ladder.parquet" in plan.summary_targets()


def test_bases_plan_a_residual_family_and_its_comparison(default):
    config = copy.deepcopy(default)
    config["bases"] = ["mlp", "resid"]
    config["models"] = ["ladder-6", "ladder-7"]
    plan = WorkflowPlan.from_config(config)
    assert list(plan.models) == ["ladder-6", "ladder-6-resid", "ladder-7", "ladder-7-resid"]
    assert plan.basis_families() == {"ladder": {"mlp": "ladder", "resid": "ladder-resid"}}
    assert plan.extraction_params(SimpleNamespace(model="ladder-7-resid"))["hook"] == \
        "hook_resid_post"
    assert plan.extraction_params(SimpleNamespace(model="ladder-7")) == config["extraction"]
    assert plan.model_input(SimpleNamespace(model="ladder-7-resid")) == [
        "results/ladder/models/ladder-7"]
    assert plan.ablation_models == ["ladder-6", "ladder-7"]  # zeroing resid coordinates: no
    assert "results/summaries/bases/ladder.parquet" in plan.summary_targets()
    assert "results/plots/families/ladder/bases.png" in plan.figure_targets()
