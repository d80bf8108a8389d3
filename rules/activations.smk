rule extract_activations:
    input:
        dataset=lambda wildcards: dataset_files(wildcards.dataset),
        model=PLAN.model_input,
        fingerprint="results/models/{model}/fingerprint.json",
    output:
        directory("results/activations/{model}/{dataset}"),
    log:
        "results/logs/extract_activations/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_activations/{model}/{dataset}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.extraction_mem_mb,
        runtime=PLAN.extraction_runtime,
        gpu=PLAN.extraction_gpus,
    params:
        model=PLAN.model_spec,
        extraction=config.get("extraction", {}),
        context_tokens=lambda wildcards: DATASETS[wildcards.dataset].get(
            "context_tokens", 128
        ),
    script:
        "../scripts/extract_activations.py"
