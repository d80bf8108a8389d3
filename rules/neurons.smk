NEURONS = config.get("neurons", {})
NEURON_LABELS = {
    "model": "{model}",
    "feature": "{feature}",
    "layer": "{layer}",
    "neuron": "{neuron}",
}
CASE_STUDY_PNG = "{rank}__{dataset}__{feature}__L{layer}__N{neuron}.png"
CASE_STUDY_HTML = "{rank}__{dataset}__{feature}__L{layer}__N{neuron}.html"


rule neuron_case_studies:
    input:
        neurons="results/summaries/models/{model}/neurons.parquet",
        datasets=[dataset_files(dataset) for dataset in DATASETS],
        activations=expand("results/activations/{{model}}/{dataset}", dataset=DATASETS),
        model=PLAN.model_input,
    output:
        histograms=report(
            directory("results/neurons/{model}/case_studies/histograms"),
            patterns=[CASE_STUDY_PNG],
            caption="../report/neurons_histogram.rst",
            category="neurons",
            subcategory="activation histograms",
            labels=NEURON_LABELS,
        ),
        contexts=report(
            directory("results/neurons/{model}/case_studies/contexts"),
            patterns=[CASE_STUDY_HTML],
            caption="../report/neurons_contexts.rst",
            category="neurons",
            subcategory="top contexts",
            labels=NEURON_LABELS,
        ),
        index="results/neurons/{model}/case_studies.parquet",
    log:
        "results/logs/neuron_case_studies/{model}.log",
    benchmark:
        "results/benchmarks/neuron_case_studies/{model}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        model=PLAN.model_spec,
        settings=NEURONS,
        context_tokens={
            name: spec.get("context_tokens", 128) for name, spec in DATASETS.items()
        },
    script:
        "../scripts/neuron_case_studies.py"


rule neuron_ablation:
    input:
        neurons="results/summaries/models/{model}/neurons.parquet",
        datasets=[dataset_files(dataset) for dataset in PLAN.ablation_features],
        model=PLAN.model_input,
    output:
        rows="results/neurons/{model}/ablation.parquet",
        summary="results/neurons/{model}/ablation_summary.parquet",
        summary_html=report(
            "results/neurons/{model}/ablation_summary.html",
            caption="../report/neurons_ablation.rst",
            category="neurons",
            subcategory="ablation",
            labels={"model": "{model}", "figure": "summary table"},
        ),
        plot=report(
            "results/neurons/{model}/ablation.png",
            caption="../report/neurons_ablation.rst",
            category="neurons",
            subcategory="ablation",
            labels={"model": "{model}", "figure": "loss change (box plot)"},
        ),
    log:
        "results/logs/neuron_ablation/{model}.log",
    benchmark:
        "results/benchmarks/neuron_ablation/{model}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        gpu=PLAN.extraction_gpus,
    params:
        model=PLAN.model_spec,
        features=PLAN.ablation_features,
        settings=config.get("ablation", {}),
        seed=config.get("seed", 42),
        device=config.get("extraction", {}).get("device", "auto"),
    script:
        "../scripts/neuron_ablation.py"
