import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from sparseprobe.config import (
    ablation_plan,
    checkpoint_table,
    dataset_source,
    families,
    ladder_model_dir,
    package_models,
    probe_layer_groups,
    selected_models,
    size_axis,
    source_path,
    training_axis,
)
from sparseprobe.workflow.resources import (
    PYTHIA_VOCAB,
    extraction_resources,
    planned_examples,
    probe_resources,
)

MODELS = selected_models(config)
# the size axis (a checkpoint sweep's last checkpoint) and the training axis (family ->
# checkpoint keys of the models swept over at least two checkpoints)
FAMILIES = families(size_axis(MODELS))
TRAINING = training_axis(MODELS)
DATASETS = config["datasets"]
LADDER = config.get("ladder") or {}
SUMMARIES = config.get("summaries") or {}
ABLATION_MODELS, ABLATION_FEATURES = ablation_plan(config, list(MODELS))
PACKAGE_MODELS = package_models(config, MODELS)


wildcard_constraints:
    model="|".join(map(re.escape, MODELS)) or "NONE",
    family="|".join(map(re.escape, FAMILIES)) or "NONE",
    dataset="|".join(DATASETS),
    entry="|".join(map(re.escape, PACKAGE_MODELS)) or "NONE",
    layers=r"\d+-\d+",


def model_spec(wildcards):
    return MODELS[wildcards.model].to_dict()


def model_input(wildcards):
    """A ladder rung's trained directory or a package model's unpacked one (both built by the
    DAG); nothing for other models."""
    spec = MODELS[wildcards.model]
    return [spec.source] if spec.source_kind in ("ladder", "package") else []


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


def n_examples(dataset):
    """A dataset's examples: its meta.json once built, else what its config asks for."""
    meta = f"results/datasets/{dataset}/meta.json"
    return planned_examples(DATASETS[dataset], meta)


def extraction_job(wildcards):
    spec = MODELS[wildcards.model]
    vocab = LADDER.get("vocab_size") if spec.source_kind == "ladder" else PYTHIA_VOCAB
    return extraction_resources(
        spec,
        DATASETS[wildcards.dataset],
        n_examples(wildcards.dataset),
        on_gpu=extraction_gpus(wildcards) > 0,
        chunk_rows=config.get("extraction", {}).get("chunk_rows", 256),
        vocab_size=vocab or PYTHIA_VOCAB,
        default_dtype=config.get("extraction", {}).get("dtype", "float32"),
    )


def probe_job(wildcards):
    return probe_resources(
        MODELS[wildcards.model],
        probe_groups(wildcards.model)[wildcards.layers],
        DATASETS[wildcards.dataset],
        n_examples(wildcards.dataset),
        config.get("probing", {}),
    )


def extraction_mem_mb(wildcards, attempt):
    return extraction_job(wildcards).on_attempt(attempt).mem_mb


def extraction_runtime(wildcards, attempt):
    return extraction_job(wildcards).on_attempt(attempt).runtime


def probe_mem_mb(wildcards, attempt):
    return probe_job(wildcards).on_attempt(attempt).mem_mb


def probe_runtime(wildcards, attempt):
    return probe_job(wildcards).on_attempt(attempt).runtime


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
    targets += expand("results/summaries/training/{family}.parquet", family=TRAINING)
    return targets + neuron_targets()


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
    targets += expand(
        "results/plots/families/{family}/training__{dataset}.png",
        family=TRAINING,
        dataset=DATASETS,
    )
    return targets


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


# The report's figures (rules/report.smk): file stem -> (caption, label).
MODEL_FIGURES = {
    "sparsity": ("../report/sparsity_by_layer.rst", "F1 against k, by layer"),
    "heatmap": ("../report/f1_heatmap.rst", "F1 heat map, features x layers"),
}
FAMILY_FIGURES = {
    "best_layer": ("../report/best_layer.rst", "best layer's depth against size"),
    "features": ("../report/feature_scaling.rst", "F1 against size, per feature"),
}


def model_figure(figure, dataset):
    caption, title = MODEL_FIGURES[figure]
    return report(
        f"results/plots/models/{{model}}/{figure}__{dataset}.png",
        caption=caption,
        category=dataset,
        subcategory="per model",
        labels={"model": "{model}", "figure": title},
    )


def family_figure(figure, dataset):
    caption, title = FAMILY_FIGURES[figure]
    return report(
        f"results/plots/families/{{family}}/{figure}__{dataset}.png",
        caption=caption,
        category=dataset,
        subcategory="across model sizes",
        labels={"family": "{family}", "figure": title},
    )


def training_figure(dataset):
    return report(
        f"results/plots/families/{{family}}/training__{dataset}.png",
        caption="../report/training_dynamics.rst",
        category=dataset,
        subcategory="across training",
        labels={"family": "{family}", "figure": "F1 across training"},
    )
