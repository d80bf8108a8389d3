import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from sparseprobe.config import (
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
SUMMARIES = config.get("summaries") or {}


wildcard_constraints:
    model="|".join(MODELS) or "NONE",
    family="|".join(FAMILIES) or "NONE",
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
        f"results/summaries/models/{model}/{table}.parquet"
        for model in MODELS
        for table in ("best_layers", "neurons")
    ]
    for family, members in FAMILIES.items():
        if len(members) >= 2:
            targets += expand(
                "results/summaries/scaling/{family}{table}.parquet",
                family=family,
                table=["", "__models", "__dynamics"],
            )
    return targets


def figure_targets():
    """The report's figures: per (model, dataset) for every selected model; per (family,
    dataset) and per family only for families with at least two selected models."""
    targets = expand(
        "results/plots/models/{model}/{figure}__{dataset}.png",
        model=MODELS,
        figure=["sparsity", "heatmap"],
        dataset=DATASETS,
    )
    for family, members in FAMILIES.items():
        if len(members) >= 2:
            targets += expand(
                "results/plots/families/{family}/{figure}__{dataset}.png",
                family=family,
                figure=["best_layer", "features"],
                dataset=DATASETS,
            )
            targets.append(f"results/plots/families/{family}/summary.png")
    return targets
