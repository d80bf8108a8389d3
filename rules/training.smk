rule training_summary:
    input:
        lambda wildcards: expand(
            "results/summaries/models/{model}/probes.parquet",
            model=TRAINING[wildcards.family],
        ),
    output:
        report(
            "results/summaries/training/{family}.parquet",
            caption="../report/tables/training.rst",
            category="downloads",
            subcategory="per family",
            labels={"family": "{family}", "table": "training checkpoints"},
        ),
    log:
        "results/logs/training_summary/{family}.log",
    benchmark:
        "results/benchmarks/training_summary/{family}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        checkpoints=lambda wildcards: checkpoint_table(
            MODELS, TRAINING[wildcards.family]
        ),
        scaling_k=SUMMARIES.get("scaling_k", [1, 16]),
        selection=SUMMARIES.get("selection", "validation"),
        min_test_positives=SUMMARIES.get("min_test_positives", 30),
    script:
        "../scripts/training_summary.py"
