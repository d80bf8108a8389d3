rule extract_activations:
    input:
        dataset=lambda wildcards: dataset_files(wildcards.dataset),
        model=model_input,
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
        mem_mb=extraction_mem_mb,
        runtime=extraction_runtime,
        gpu=extraction_gpus,
    params:
        model=model_spec,
        extraction=config.get("extraction", {}),
        context_tokens=lambda wildcards: DATASETS[wildcards.dataset].get(
            "context_tokens", 128
        ),
    script:
        "../scripts/extract_activations.py"
