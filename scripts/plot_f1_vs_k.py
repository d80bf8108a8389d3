import _bootstrap  # noqa: F401
from sparseprobe.summaries import plot_f1_vs_k
from sparseprobe.workflow import logged

with logged(snakemake.log[0]):
    plot_f1_vs_k(snakemake.input, snakemake.output[0], dataset=snakemake.wildcards.dataset)
