import _bootstrap  # noqa: F401
from sparseprobe.plots import write_family_figure
from sparseprobe.workflow import logged

with logged(snakemake.log[0]):
    write_family_figure(snakemake.input[0], snakemake.output.png, snakemake.output.svg)
