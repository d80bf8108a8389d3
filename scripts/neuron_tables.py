import _bootstrap  # noqa: F401
from sparseprobe.summaries.neuron_tables import write_neuron_tables
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]):
    out = snakemake.output
    write_neuron_tables(snakemake.input[0], out.best, out.best_csv, out.above, out.above_csv,
                        min_f1=snakemake.params.min_f1, selection=snakemake.params.selection)
