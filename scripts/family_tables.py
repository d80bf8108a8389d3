import _bootstrap  # noqa: F401
from sparseprobe.summaries.dynamics import DynamicsThresholds, write_family_tables
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]):
    thresholds = DynamicsThresholds(**snakemake.params.dynamics)
    write_family_tables(snakemake.input[0], snakemake.output.models, snakemake.output.dynamics,
                        thresholds)
