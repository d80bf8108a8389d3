rule model_summary:
    input:
        probes=lambda wildcards: PLAN.probe_files(wildcards.model),
        metas=expand("results/datasets/{dataset}/meta.json", dataset=DATASETS),
    output:
        probes=report(
            "results/summaries/models/{model}/probes.parquet",
            caption="../report/tables/probes.rst",
            category="downloads",
            subcategory="per model",
            labels={"model": "{model}", "table": "1 probes"},
        ),
        best_layers=report(
            "results/summaries/models/{model}/best_layers.parquet",
            caption="../report/tables/best_layers.rst",
            category="downloads",
            subcategory="per model",
            labels={"model": "{model}", "table": "2 best layers"},
        ),
    log:
        "results/logs/model_summary/{model}.log",
    benchmark:
        "results/benchmarks/model_summary/{model}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        selection=SUMMARIES.get("selection", "validation"),
    script:
        "../scripts/model_summary.py"


rule scaling_summary:
    input:
        lambda wildcards: expand(
            "results/summaries/models/{model}/probes.parquet",
            model=FAMILIES[wildcards.family],
        ),
    output:
        report(
            "results/summaries/scaling/{family}.parquet",
            caption="../report/tables/scaling.rst",
            category="downloads",
            subcategory="per family",
            labels={"family": "{family}", "table": "5 scaling"},
        ),
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
        selection=SUMMARIES.get("selection", "validation"),
        min_test_positives=SUMMARIES.get("min_test_positives", 30),
    script:
        "../scripts/scaling_summary.py"


rule neuron_tables:
    input:
        "results/summaries/models/{model}/probes.parquet",
    output:
        best=report(
            "results/summaries/models/{model}/neurons.parquet",
            caption="../report/tables/neurons.rst",
            category="downloads",
            subcategory="per model",
            labels={"model": "{model}", "table": "3 best single neurons"},
        ),
        best_csv="results/summaries/models/{model}/neurons.csv",
        above=report(
            "results/summaries/models/{model}/neurons_above_threshold.parquet",
            caption="../report/tables/neurons_above.rst",
            category="downloads",
            subcategory="per model",
            labels={"model": "{model}", "table": "4 neurons above threshold"},
        ),
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
        selection=SUMMARIES.get("selection", "validation"),
    script:
        "../scripts/neuron_tables.py"


rule family_tables:
    input:
        "results/summaries/scaling/{family}.parquet",
    output:
        models=report(
            "results/summaries/scaling/{family}__models.parquet",
            caption="../report/tables/family_models.rst",
            category="downloads",
            subcategory="per family",
            labels={"family": "{family}", "table": "6 per-model means"},
        ),
        dynamics=report(
            "results/summaries/scaling/{family}__dynamics.parquet",
            caption="../report/tables/dynamics.rst",
            category="downloads",
            subcategory="per family",
            labels={"family": "{family}", "table": "7 scaling dynamics"},
        ),
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


rule compare_bases:
    input:
        lambda wildcards: [
            f"results/summaries/scaling/{family}.parquet"
            for family in PLAN.basis_families()[wildcards.family].values()
        ],
    output:
        table=report(
            "results/summaries/bases/{family}.parquet",
            caption="../report/tables/bases.rst",
            category="downloads",
            subcategory="per family",
            labels={"family": "{family}", "table": "bases compared"},
        ),
        figure=report(
            "results/plots/families/{family}/bases.png",
            caption="../report/bases.rst",
            category="scaling",
            subcategory="family summaries",
            labels={"family": "{family}", "figure": "MLP neurons and residual stream"},
        ),
        svg="results/plots/families/{family}/bases.svg",
    log:
        "results/logs/compare_bases/{family}.log",
    benchmark:
        "results/benchmarks/compare_bases/{family}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        bases=lambda wildcards: list(PLAN.basis_families()[wildcards.family]),
    script:
        "../scripts/compare_bases.py"
