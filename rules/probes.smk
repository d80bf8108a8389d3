rule probe_layers:
    input:
        dataset=lambda wildcards: dataset_files(wildcards.dataset),
        activations="results/activations/{model}/{dataset}",
        fingerprint="results/models/{model}/fingerprint.json",
    output:
        "results/probes/{model}/{dataset}/layers_{layers}.parquet",
    log:
        "results/logs/probe_layers/{model}/{dataset}/layers_{layers}.log",
    benchmark:
        "results/benchmarks/probe_layers/{model}/{dataset}/layers_{layers}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.probe_mem_mb,
        runtime=PLAN.probe_runtime,
    params:
        probing=config.get("probing", {}),
        layers=lambda wildcards: PLAN.probe_groups(wildcards.model)[wildcards.layers],
        seed=config["seed"],
        validation_fraction=config["split"]["validation_fraction"],
    script:
        "../scripts/probe_layers.py"
