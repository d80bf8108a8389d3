# sparseprobe: k-sparse probing of MLP neurons across layers and model scale.
# Run: snakemake --cores all   (config/config.yaml; see README.md)


from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "rules/common.smk"


rule all:
    input:
        all_targets(),
    default_target: True


include: "rules/sources.smk"
include: "rules/datasets.smk"
include: "rules/ladder.smk"
include: "rules/activations.smk"
include: "rules/probes.smk"
include: "rules/summaries.smk"
