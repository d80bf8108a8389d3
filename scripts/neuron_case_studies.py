import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.report.case_studies import CaseStudySettings, write_case_studies
from sparseprobe.config import ModelSpec
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    settings = snakemake.params.settings
    index = write_case_studies(
        Path(snakemake.input.neurons), ModelSpec.from_dict(snakemake.params.model),
        {Path(p).parent.name: Path(p).parent for p in snakemake.input.datasets},
        {Path(p).name: Path(p) for p in snakemake.input.activations},
        snakemake.params.context_tokens, Path(snakemake.output.histograms),
        Path(snakemake.output.contexts), Path(snakemake.output.index),
        CaseStudySettings(n_neurons=settings.get("case_studies", 5),
                          contexts=settings.get("contexts", 20), bins=settings.get("bins", 40)),
    )
    log.info("%d neuron case studies", index.height)
