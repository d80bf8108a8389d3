import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from sparseprobe.config import (
    ablation_plan,
    dataset_source,
    families,
    ladder_model_dir,
    probe_layer_groups,
    selected_models,
    source_path,
)

MODELS = selected_models(config)
FAMILIES = families(MODELS)
DATASETS = config["datasets"]
LADDER = config.get("ladder") or {}
ABLATION_MODELS, ABLATION_FEATURES = ablation_plan(config)


wildcard_constraints:
    model="|".join(MODELS) or "NONE",
    dataset="|".join(DATASETS),
    layers=r"\d+-\d+",


def model_spec(wildcards):
    return MODELS[wildcards.model].to_dict()


def model_input(wildcards):
    """A ladder rung's trained directory (built by the DAG); nothing for other models."""
    spec = MODELS[wildcards.model]
    return [ladder_model_dir(spec.name)] if spec.source_kind == "ladder" else []


def dataset_files(dataset):
    return expand(
        "results/datasets/{dataset}/{file}",
        dataset=dataset,
        file=["examples.parquet", "labels.parquet", "meta.json"],
    )


NEURONS_PER_PROBE_JOB = config.get("probing", {}).get("neurons_per_job", 8192)


def probe_groups(model):
    return probe_layer_groups(MODELS[model], NEURONS_PER_PROBE_JOB)


def probe_files(model):
    return [
        f"results/probes/{model}/{dataset}/layers_{group}.parquet"
        for dataset in DATASETS
        for group in probe_groups(model)
    ]


def extraction_gpus(wildcards):
    device = config.get("extraction", {}).get("device", "auto")
    return 1 if str(device).startswith("cuda") else 0


def all_targets():
    """Per-model summaries of every selected model; family-level tables and plots only for
    families with at least two selected models (so re-running one model touches nothing else).
    """
    targets = [
        f"results/summaries/models/{model}/best_layers.parquet" for model in MODELS
    ]
    for family, members in FAMILIES.items():
        if len(members) >= 2:
            targets.append(f"results/summaries/scaling/{family}.parquet")
            targets += expand(
                "results/plots/{family}/f1_vs_k__{dataset}.png",
                family=family,
                dataset=DATASETS,
            )
    return targets + neuron_targets()


def neuron_targets():
    """Neuron case studies of every selected model (unless neurons.case_studies is 0) and the
    ablation of the models and features of the ``ablation`` block (rules/neurons.smk).
    """
    targets = []
    if config.get("neurons", {}).get("case_studies", 5) > 0:
        targets += expand("results/neurons/{model}/case_studies.parquet", model=MODELS)
    return targets + expand(
        "results/neurons/{model}/ablation.parquet", model=ABLATION_MODELS
    )
