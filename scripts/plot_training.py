import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.report.plots import write_training_figures
from sparseprobe.report.tables import write_table_page
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]):
    write_training_figures(snakemake.input[0], snakemake.params.datasets,
                           Path(snakemake.output[0]).parent)
    write_table_page(snakemake.input[0], snakemake.output.page,
                     f"{snakemake.wildcards.family} family")
