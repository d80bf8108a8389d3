rule model_summary:
    input:
        probes=lambda wildcards: probe_files(wildcards.model),
        metas=expand("results/datasets/{dataset}/meta.json", dataset=DATASETS),
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


rule neuron_tables:
    input:
        "results/summaries/models/{model}/probes.parquet",
    output:
        best="results/summaries/models/{model}/neurons.parquet",
        best_csv="results/summaries/models/{model}/neurons.csv",
        above="results/summaries/models/{model}/neurons_above_threshold.parquet",
        above_csv="results/summaries/models/{model}/neurons_above_threshold.csv",
    log:
        "results/logs/neuron_tables/{model}.log",
    benchmark:
        "results/benchmarks/neuron_tables/{model}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        min_f1=SUMMARIES.get("neuron_f1_threshold", 0.8),
    script:
        "../scripts/neuron_tables.py"


rule family_tables:
    input:
        "results/summaries/scaling/{family}.parquet",
    output:
        models="results/summaries/scaling/{family}__models.parquet",
        dynamics="results/summaries/scaling/{family}__dynamics.parquet",
    log:
        "results/logs/family_tables/{family}.log",
    benchmark:
        "results/benchmarks/family_tables/{family}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        dynamics=SUMMARIES.get("dynamics") or {},
    script:
        "../scripts/family_tables.py"


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
