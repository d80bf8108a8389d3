rule build_dataset:
    input:
        source=lambda wildcards: dataset_source(DATASETS[wildcards.dataset]),
        facts=lambda wildcards: DATASETS[wildcards.dataset].get("facts", []),
    output:
        examples="results/datasets/{dataset}/examples.parquet",
        labels="results/datasets/{dataset}/labels.parquet",
        meta="results/datasets/{dataset}/meta.json",
    log:
        "results/logs/build_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/build_dataset/{dataset}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        spec=lambda wildcards: DATASETS[wildcards.dataset],
        seed=config["seed"],
        test_fraction=config["split"]["test_fraction"],
    script:
        "../scripts/build_dataset.py"
