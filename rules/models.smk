rule model_fingerprint:
    input:
        lambda wildcards: fingerprint_inputs(MODELS[wildcards.model]),
    output:
        "results/models/{model}/fingerprint.json",
    log:
        "results/logs/model_fingerprint/{model}.log",
    localrule: True
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=500,
    params:
        model=PLAN.model_spec,
    script:
        "../scripts/model_fingerprint.py"
