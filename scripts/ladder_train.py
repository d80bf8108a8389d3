import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.models.ladder import LadderModelSpec, TrainingSpec, train_model
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    training = dict(snakemake.params.training)
    checkpoint_steps = tuple(training.pop("checkpoint_steps", ()))
    report = train_model(
        LadderModelSpec(**snakemake.params.rung), TrainingSpec(**training),
        Path(snakemake.input.tokenizer), Path(snakemake.input.stream), Path(snakemake.output[0]),
        threads=snakemake.threads, checkpoint_steps=checkpoint_steps,
    )
    log.info("trained %s", report.to_json())
