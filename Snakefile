# sparseprobe: k-sparse probing of MLP neurons across layers and model scale.
# Run: snakemake --cores all   (config/config.yaml; see README.md)


from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"


rule all:
    default_target: True
    input:
        PLAN.summary_targets(),
        PLAN.figure_targets(),
        PLAN.results_page_targets(),


include: "rules/sources.smk"
include: "rules/datasets.smk"
include: "rules/ladder.smk"
include: "rules/models.smk"
include: "rules/activations.smk"
include: "rules/probes.smk"
include: "rules/summaries.smk"
include: "rules/training.smk"
include: "rules/neurons.smk"
include: "rules/report.smk"
