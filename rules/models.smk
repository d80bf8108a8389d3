def model_files(wildcards):
    """What a model's fingerprint is computed from: a ladder rung's trained directory (built by
    the DAG) or a local model's weight, config and tokenizer files (so a changed file re-runs
    the fingerprint and, through it, extraction); nothing for a hub model."""
    spec = MODELS[wildcards.model]
    if spec.source_kind == "ladder":
        return [ladder_model_dir(spec.name)]
    if spec.source_kind == "local":
        return [str(path) for path in local_files(spec.source)] or [spec.source]
    return []


rule model_fingerprint:
    input:
        model_files,
    output:
        "results/models/{model}/fingerprint.json",
    log:
        "results/logs/model_fingerprint/{model}.log",
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=500,
    params:
        model=model_spec,
    script:
        "../scripts/model_fingerprint.py"
