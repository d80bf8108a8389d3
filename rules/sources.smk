rule fetch_source:
    output:
        "resources/sources/{source}.whl",
    params:
        source=lambda wildcards: config["sources"][wildcards.source],
    log:
        "results/logs/fetch_source/{source}.log",
    benchmark:
        "results/benchmarks/fetch_source/{source}.tsv"
    resources:
        mem_mb=1000,
    script:
        "../scripts/fetch_source.py"
