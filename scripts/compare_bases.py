import _bootstrap  # noqa: F401
import polars as pl

from sparseprobe.report.plots import basis_comparison
from sparseprobe.summaries.bases import write_basis_table
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]):
    family = snakemake.wildcards.family
    write_basis_table(dict(zip(snakemake.params.bases, snakemake.input)), family,
                      snakemake.output.table)
    basis_comparison(pl.read_parquet(snakemake.output.table), snakemake.output.figure,
                     svg=snakemake.output.svg)
