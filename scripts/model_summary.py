import _bootstrap  # noqa: F401
from sparseprobe.summaries.model import write_model_summary
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]):
    write_model_summary(snakemake.input.probes, snakemake.input.metas, snakemake.output.probes,
                        snakemake.output.best_layers, selection=snakemake.params.selection)
