rule ladder_corpus:
    input:
        datasets=[dataset_files(dataset) for dataset in DATASETS],
        sae_probes=source_path("sae_probes"),
        django=source_path("django"),
    output:
        "results/ladder/corpus.parquet",
    log:
        "results/logs/ladder/corpus.log",
    benchmark:
        "results/benchmarks/ladder/corpus.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        dataset_dirs=expand("results/datasets/{dataset}", dataset=DATASETS),
        corpus=LADDER.get("corpus", {}),
        seed=config["seed"],
    script:
        "../scripts/ladder_corpus.py"


rule ladder_tokenizer:
    input:
        "results/ladder/corpus.parquet",
    output:
        tokenizer=directory("results/ladder/tokenizer"),
        stream="results/ladder/tokens.npy",
    log:
        "results/logs/ladder/tokenizer.log",
    benchmark:
        "results/benchmarks/ladder/tokenizer.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    resources:
        mem_mb=2000,
    params:
        vocab_size=LADDER.get("vocab_size"),
    script:
        "../scripts/ladder_tokenizer.py"


rule ladder_train:
    input:
        tokenizer="results/ladder/tokenizer",
        stream="results/ladder/tokens.npy",
    output:
        directory(ladder_model_dir("{rung}")),
    log:
        "results/logs/ladder/train_{rung}.log",
    benchmark:
        "results/benchmarks/ladder/train_{rung}.tsv"
    conda:
        "../envs/sparseprobe.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        rung=lambda wildcards: ladder_training_job(LADDER, wildcards.rung)[0],
        training=lambda wildcards: ladder_training_job(LADDER, wildcards.rung)[1],
    script:
        "../scripts/ladder_train.py"
