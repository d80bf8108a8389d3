# A small model's datasets in one job (its start-up, imports and model loading, paid once); a
# large model's per (model, dataset), so a cluster runs them side by side. Both write one store
# per (model, dataset): WorkflowPlan.per_model_jobs (src/sparseprobe/workflow/plan.py) decides.
rule extract_activations:
    input:
        datasets=[dataset_files(dataset) for dataset in DATASETS],
        model=PLAN.model_input,
        fingerprint="results/models/{model}/fingerprint.json",
    output:
        [directory(f"results/activations/{{model}}/{dataset}") for dataset in DATASETS],
    log:
        "results/logs/extract_activations/{model}.log",
    benchmark:
        "results/benchmarks/extract_activations/{model}.tsv"
    wildcard_constraints:
        model=PLAN.model_pattern(per_model=True),
    conda:
        "../envs/sparseprobe.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.extraction_mem_mb,
        runtime=PLAN.extraction_runtime,
        gpu=PLAN.extraction_gpus,
    params:
        model=PLAN.model_spec,
        extraction=PLAN.extraction_params,
        jobs=lambda wildcards: PLAN.extraction_jobs(wildcards.model),
    script:
        "../scripts/extract_activations.py"


rule extract_activations_per_dataset:
    input:
        datasets=lambda wildcards: dataset_files(wildcards.dataset),
        model=PLAN.model_input,
        fingerprint="results/models/{model}/fingerprint.json",
    output:
        directory("results/activations/{model}/{dataset}"),
    log:
        "results/logs/extract_activations/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_activations/{model}/{dataset}.tsv"
    wildcard_constraints:
        model=PLAN.model_pattern(per_model=False),
    conda:
        "../envs/sparseprobe.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.extraction_mem_mb,
        runtime=PLAN.extraction_runtime,
        gpu=PLAN.extraction_gpus,
    params:
        model=PLAN.model_spec,
        extraction=PLAN.extraction_params,
        jobs=lambda wildcards: PLAN.extraction_jobs(
            wildcards.model, [wildcards.dataset]
        ),
    script:
        "../scripts/extract_activations.py"
