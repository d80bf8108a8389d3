import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.report.plots import write_all_family_figures
from sparseprobe.report.tables import write_table_pages
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]):
    write_all_family_figures(snakemake.input.best, snakemake.input.scaling,
                             snakemake.input.dynamics, snakemake.input.models,
                             snakemake.params.datasets, Path(snakemake.output.summary).parent,
                             k_values=snakemake.params.scaling_k)
    write_table_pages(snakemake.input, snakemake.output, f"{snakemake.wildcards.family} family")
