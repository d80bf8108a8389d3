import _bootstrap  # noqa: F401
from sparseprobe.plots import write_model_figures
from sparseprobe.workflow import logged

with logged(snakemake.log[0]):
    write_model_figures(snakemake.input[0], snakemake.wildcards.dataset,
                        snakemake.output.sparsity, snakemake.output.heatmap,
                        heatmap_k=snakemake.params.heatmap_k)
