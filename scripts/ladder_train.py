import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.models.ladder import LadderModelSpec, TrainingSpec, train_model
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    report = train_model(
        LadderModelSpec(**snakemake.params.rung), TrainingSpec(**snakemake.params.training),
        Path(snakemake.input.tokenizer), Path(snakemake.input.stream), Path(snakemake.output[0]),
        threads=snakemake.threads,
    )
    log.info("trained %s", report.to_json())
