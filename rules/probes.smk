rule probe_layer:
    input:
        dataset=lambda wildcards: dataset_files(wildcards.dataset),
        activations="results/activations/{model}/{dataset}",
    output:
        "results/probes/{model}/{dataset}/layer_{layer}.parquet",
    params:
        probing=config.get("probing", {}),
        seed=config["seed"],
    log:
        "results/logs/probe_layer/{model}/{dataset}/layer_{layer}.log",
    benchmark:
        "results/benchmarks/probe_layer/{model}/{dataset}/layer_{layer}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/probe_layer.py"
