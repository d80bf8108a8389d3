rule model_summary:
    input:
        lambda wildcards: probe_files(wildcards.model),
    output:
        probes="results/summaries/models/{model}/probes.parquet",
        best_layers="results/summaries/models/{model}/best_layers.parquet",
    log:
        "results/logs/model_summary/{model}.log",
    benchmark:
        "results/benchmarks/model_summary/{model}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    script:
        "../scripts/model_summary.py"


rule scaling_summary:
    input:
        lambda wildcards: expand(
            "results/summaries/models/{model}/probes.parquet",
            model=FAMILIES[wildcards.family],
        ),
    output:
        "results/summaries/scaling/{family}.parquet",
    log:
        "results/logs/scaling_summary/{family}.log",
    benchmark:
        "results/benchmarks/scaling_summary/{family}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        scaling_k=config.get("summaries", {}).get("scaling_k", [1, 16]),
    script:
        "../scripts/scaling_summary.py"


rule plot_f1_vs_k:
    input:
        lambda wildcards: expand(
            "results/summaries/models/{model}/probes.parquet",
            model=FAMILIES[wildcards.family],
        ),
    output:
        "results/plots/{family}/f1_vs_k__{dataset}.png",
    log:
        "results/logs/plot_f1_vs_k/{family}/{dataset}.log",
    benchmark:
        "results/benchmarks/plot_f1_vs_k/{family}/{dataset}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    script:
        "../scripts/plot_f1_vs_k.py"
