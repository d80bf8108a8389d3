import _bootstrap  # noqa: F401
from sparseprobe.summaries.scaling import write_scaling_table
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]):
    write_scaling_table(snakemake.input, snakemake.output[0], k_values=snakemake.params.scaling_k,
                        selection=snakemake.params.selection,
                        min_test_positives=snakemake.params.min_test_positives)
