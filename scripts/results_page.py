import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.report.results_doc import Run
from sparseprobe.report.results_page import model_page, to_html
from sparseprobe.workflow.logs import logged

# The results directory is the one holding this model's summaries (results/summaries/models/M).
with logged(snakemake.log[0]) as log:
    results = Path(snakemake.input.probes).parents[3]
    # the config is not a param: a config change that leaves these tables alone keeps the page
    run = Run(snakemake.wildcards.model, results, "the workflow config of this run")
    page = to_html(model_page(run, snakemake.params.n_neurons), f"Results: {run.model}")
    Path(snakemake.output[0]).write_text(page, encoding="utf-8")
    log.info("wrote %s (%d bytes)", snakemake.output[0], len(page))
