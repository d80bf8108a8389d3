import _bootstrap  # noqa: F401
from sparseprobe.plots import write_feature_scaling_figure
from sparseprobe.workflow import logged

with logged(snakemake.log[0]):
    write_feature_scaling_figure(snakemake.input.scaling, snakemake.input.dynamics,
                                 snakemake.wildcards.dataset, snakemake.output.png,
                                 snakemake.output.svg, k_values=snakemake.params.scaling_k)
