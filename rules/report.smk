# Figures of the HTML report (`snakemake --report report.html`), drawn from the summary tables by
# sparseprobe.report.plots. Per-model figures read one model's tables only; family figures exist
# for families with at least two selected models (WorkflowPlan.figure_targets, in
# src/sparseprobe/workflow/plan.py). One job draws all figures of a model (or a family): a
# plotting process costs ~2 s to start. The same jobs write the summary tables as HTML pages
# (sparseprobe.report.tables: sortable, filterable, scripts embedded), shown in the report's
# *tables* category; the Parquet files stay linked under *downloads* (rules/summaries.smk).

import mimetypes

# the report links the Parquet tables as downloads (not as text/plain, Snakemake's fallback)
mimetypes.add_type("application/vnd.apache.parquet", ".parquet")


rule plot_model:
    input:
        probes="results/summaries/models/{model}/probes.parquet",
        best_layers="results/summaries/models/{model}/best_layers.parquet",
        neurons="results/summaries/models/{model}/neurons.parquet",
        neurons_above_threshold="results/summaries/models/{model}/neurons_above_threshold.parquet",
    output:
        [model_figure(f, d) for d in DATASETS for f in MODEL_FIGURES],
        expand(
            "results/plots/models/{{model}}/{figure}__{dataset}.svg",
            figure=MODEL_FIGURES,
            dataset=DATASETS,
        ),
        probes_page=model_table_page("probes", "probes", "1 probes"),
        best_layers_page=model_table_page("best_layers", "best_layers", "2 best layers"),
        neurons_page=model_table_page("neurons", "neurons", "3 best single neurons"),
        neurons_above_threshold_page=model_table_page(
            "neurons_above_threshold", "neurons_above", "4 neurons above threshold"
        ),
    log:
        "results/logs/plot_model/{model}.log",
    benchmark:
        "results/benchmarks/plot_model/{model}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        datasets=list(DATASETS),
        heatmap_k=sorted({1, SUMMARIES.get("heatmap_k", 16)}),
        min_f1=SUMMARIES.get("neuron_f1_threshold", 0.8),
    script:
        "../scripts/plot_model.py"


rule plot_family:
    input:
        best=lambda wildcards: expand(
            "results/summaries/models/{model}/best_layers.parquet",
            model=FAMILIES[wildcards.family],
        ),
        scaling="results/summaries/scaling/{family}.parquet",
        dynamics="results/summaries/scaling/{family}__dynamics.parquet",
        models="results/summaries/scaling/{family}__models.parquet",
    output:
        [family_figure(f, d) for d in DATASETS for f in FAMILY_FIGURES],
        expand(
            "results/plots/families/{{family}}/{figure}__{dataset}.svg",
            figure=FAMILY_FIGURES,
            dataset=DATASETS,
        ),
        summary=report(
            "results/plots/families/{family}/summary.png",
            caption="../report/family_scaling.rst",
            category="scaling",
            subcategory="family summaries",
            labels={"family": "{family}", "figure": "summary statistics against size"},
        ),
        summary_svg="results/plots/families/{family}/summary.svg",
        scaling_page=family_table_page("", "scaling", "5 scaling"),
        models_page=family_table_page("__models", "family_models", "6 per-model means"),
        dynamics_page=family_table_page("__dynamics", "dynamics", "7 scaling dynamics"),
    log:
        "results/logs/plot_family/{family}.log",
    benchmark:
        "results/benchmarks/plot_family/{family}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        datasets=list(DATASETS),
        scaling_k=SUMMARIES.get("scaling_k", [1, 16]),
    script:
        "../scripts/plot_family.py"


rule plot_training:
    input:
        "results/summaries/training/{family}.parquet",
    output:
        [training_figure(d) for d in DATASETS],
        expand(
            "results/plots/families/{{family}}/training__{dataset}.svg",
            dataset=DATASETS,
        ),
        page=table_page(
            "results/summaries/training/{family}.parquet",
            "training",
            "per family",
            {"family": "{family}", "table": "training checkpoints"},
        ),
    log:
        "results/logs/plot_training/{family}.log",
    benchmark:
        "results/benchmarks/plot_training/{family}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        datasets=list(DATASETS),
    script:
        "../scripts/plot_training.py"


rule results_page:
    input:
        probes="results/summaries/models/{model}/probes.parquet",
        best="results/summaries/models/{model}/best_layers.parquet",
        neurons="results/summaries/models/{model}/neurons.parquet",
        datasets=[dataset_files(dataset) for dataset in DATASETS],
        activations=expand("results/activations/{{model}}/{dataset}", dataset=DATASETS),
    output:
        report(
            "results/report/results/{model}.html",
            caption="../report/results_page.rst",
            category="results",
            labels={"model": "{model}"},
        ),
    log:
        "results/logs/results_page/{model}.log",
    benchmark:
        "results/benchmarks/results_page/{model}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=1000,
    params:
        n_neurons=10,
    script:
        "../scripts/results_page.py"
