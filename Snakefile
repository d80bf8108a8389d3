# sparseprobe: k-sparse probing of MLP neurons across layers and model scale.
# Run: snakemake --cores all   (config/config.yaml; see README.md)


from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/report_items.smk"


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


# The console: one line per job, its stage and what it works on ("probe layers  ladder-3 /
# latex / layers 0-1"), instead of Snakemake's block of inputs, outputs and reasons; set here
# for every rule so that the rule files carry no message: lines (sparseprobe.workflow.console).
from sparseprobe.workflow.console import closing_summary, job_message

for _rule in workflow.rules:
    _rule.message = job_message(_rule.name, _rule.wildcard_names)


onsuccess:
    _scaled = PLAN.scaled_families()
    _largest = FAMILIES[_scaled[0]] if _scaled else list(MODELS)
    print(closing_summary(_largest[-1], _scaled, list(DATASETS)))
