import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.report.plots import write_all_model_figures
from sparseprobe.report.tables import write_table_pages
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]):
    write_all_model_figures(snakemake.input.probes, snakemake.params.datasets,
                            Path(snakemake.output[0]).parent,
                            heatmap_k=snakemake.params.heatmap_k)
    write_table_pages(snakemake.input, snakemake.output, snakemake.wildcards.model)
