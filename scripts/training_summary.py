import _bootstrap  # noqa: F401
from sparseprobe.summaries.training import write_training_table
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]):
    write_training_table(snakemake.input, snakemake.output[0],
                         checkpoints=snakemake.params.checkpoints,
                         k_values=snakemake.params.scaling_k,
                         selection=snakemake.params.selection,
                         min_test_positives=snakemake.params.min_test_positives)
