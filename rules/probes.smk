# A small model's probe job covers every dataset; a large model's one (dataset, layer group).
# Same files either way (WorkflowPlan.per_model_jobs, src/sparseprobe/workflow/plan.py).
rule probe_layers:
    input:
        datasets=[dataset_files(dataset) for dataset in DATASETS],
        activations=expand("results/activations/{{model}}/{dataset}", dataset=DATASETS),
        fingerprint="results/models/{model}/fingerprint.json",
    output:
        expand(
            "results/probes/{{model}}/{dataset}/layers_{{layers}}.parquet",
            dataset=DATASETS,
        ),
    log:
        "results/logs/probe_layers/{model}/layers_{layers}.log",
    benchmark:
        "results/benchmarks/probe_layers/{model}/layers_{layers}.tsv"
    wildcard_constraints:
        model=PLAN.model_pattern(per_model=True),
    conda:
        "../envs/sparseprobe.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.probe_mem_mb,
        runtime=PLAN.probe_runtime,
    params:
        probing=config.get("probing", {}),
        layers=lambda wildcards: PLAN.probe_groups(wildcards.model)[wildcards.layers],
        jobs=lambda wildcards: PLAN.probe_jobs(wildcards.model, wildcards.layers),
        seed=config["seed"],
        validation_fraction=config["split"]["validation_fraction"],
        validation_folds=config["split"].get("validation_folds", 0),
    script:
        "../scripts/probe_layers.py"


rule probe_layers_per_dataset:
    input:
        datasets=lambda wildcards: dataset_files(wildcards.dataset),
        activations="results/activations/{model}/{dataset}",
        fingerprint="results/models/{model}/fingerprint.json",
    output:
        "results/probes/{model}/{dataset}/layers_{layers}.parquet",
    log:
        "results/logs/probe_layers/{model}/{dataset}/layers_{layers}.log",
    benchmark:
        "results/benchmarks/probe_layers/{model}/{dataset}/layers_{layers}.tsv"
    wildcard_constraints:
        model=PLAN.model_pattern(per_model=False),
    conda:
        "../envs/sparseprobe.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.probe_mem_mb,
        runtime=PLAN.probe_runtime,
    params:
        probing=config.get("probing", {}),
        layers=lambda wildcards: PLAN.probe_groups(wildcards.model)[wildcards.layers],
        jobs=lambda wildcards: PLAN.probe_jobs(
            wildcards.model, wildcards.layers, [wildcards.dataset]
        ),
        seed=config["seed"],
        validation_fraction=config["split"]["validation_fraction"],
        validation_folds=config["split"].get("validation_folds", 0),
    script:
        "../scripts/probe_layers.py"
