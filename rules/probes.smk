rule probe_layer:
    input:
        dataset=lambda wildcards: dataset_files(wildcards.dataset),
        activations="results/activations/{model}/{dataset}",
    output:
        "results/probes/{model}/{dataset}/layer_{layer}.parquet",
    log:
        "results/logs/probe_layer/{model}/{dataset}/layer_{layer}.log",
    benchmark:
        "results/benchmarks/probe_layer/{model}/{dataset}/layer_{layer}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        probing=config.get("probing", {}),
        seed=config["seed"],
    script:
        "../scripts/probe_layer.py"
