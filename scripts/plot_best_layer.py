import _bootstrap  # noqa: F401
from sparseprobe.plots import write_best_layer_figure
from sparseprobe.workflow import logged

with logged(snakemake.log[0]):
    write_best_layer_figure(snakemake.input, snakemake.wildcards.dataset, snakemake.output.png,
                            snakemake.output.svg, k_values=snakemake.params.scaling_k)
