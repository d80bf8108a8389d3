# Figures of the HTML report (`snakemake --report report.html`), drawn from the summary tables by
# sparseprobe.plots. Per-model figures read one model's tables only; family figures exist for
# families with at least two selected models (see figure_targets in rules/common.smk).

import mimetypes

# the report links the Parquet tables as downloads (not as text/plain, Snakemake's fallback)
mimetypes.add_type("application/vnd.apache.parquet", ".parquet")


rule plot_model:
    input:
        "results/summaries/models/{model}/probes.parquet",
    output:
        sparsity=report(
            "results/plots/models/{model}/sparsity__{dataset}.png",
            caption="../report/sparsity_by_layer.rst",
            category="{dataset}",
            subcategory="per model",
            labels={"model": "{model}", "figure": "F1 against k, by layer"},
        ),
        heatmap=report(
            "results/plots/models/{model}/heatmap__{dataset}.png",
            caption="../report/f1_heatmap.rst",
            category="{dataset}",
            subcategory="per model",
            labels={"model": "{model}", "figure": "F1 heat map, features x layers"},
        ),
    log:
        "results/logs/plot_model/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/plot_model/{model}/{dataset}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        heatmap_k=sorted({1, SUMMARIES.get("heatmap_k", 16)}),
    script:
        "../scripts/plot_model.py"


rule plot_best_layer:
    input:
        lambda wildcards: expand(
            "results/summaries/models/{model}/best_layers.parquet",
            model=FAMILIES[wildcards.family],
        ),
    output:
        png=report(
            "results/plots/families/{family}/best_layer__{dataset}.png",
            caption="../report/best_layer.rst",
            category="{dataset}",
            subcategory="across model sizes",
            labels={"family": "{family}", "figure": "best layer's depth against size"},
        ),
        svg="results/plots/families/{family}/best_layer__{dataset}.svg",
    log:
        "results/logs/plot_best_layer/{family}/{dataset}.log",
    benchmark:
        "results/benchmarks/plot_best_layer/{family}/{dataset}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        scaling_k=SUMMARIES.get("scaling_k", [1, 16]),
    script:
        "../scripts/plot_best_layer.py"


rule plot_feature_scaling:
    input:
        scaling="results/summaries/scaling/{family}.parquet",
        dynamics="results/summaries/scaling/{family}__dynamics.parquet",
    output:
        png=report(
            "results/plots/families/{family}/features__{dataset}.png",
            caption="../report/feature_scaling.rst",
            category="{dataset}",
            subcategory="across model sizes",
            labels={"family": "{family}", "figure": "F1 against size, per feature"},
        ),
        svg="results/plots/families/{family}/features__{dataset}.svg",
    log:
        "results/logs/plot_feature_scaling/{family}/{dataset}.log",
    benchmark:
        "results/benchmarks/plot_feature_scaling/{family}/{dataset}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        scaling_k=SUMMARIES.get("scaling_k", [1, 16]),
    script:
        "../scripts/plot_feature_scaling.py"


rule plot_family:
    input:
        "results/summaries/scaling/{family}__models.parquet",
    output:
        png=report(
            "results/plots/families/{family}/summary.png",
            caption="../report/family_scaling.rst",
            category="scaling",
            subcategory="family summaries",
            labels={"family": "{family}", "figure": "summary statistics against size"},
        ),
        svg="results/plots/families/{family}/summary.svg",
    log:
        "results/logs/plot_family/{family}.log",
    benchmark:
        "results/benchmarks/plot_family/{family}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    script:
        "../scripts/plot_family.py"
