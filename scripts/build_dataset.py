import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.config import dataset_source
from sparseprobe.datasets.builders import BUILDERS
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    spec = dict(snakemake.params.spec)
    several = isinstance(dataset_source(spec), list)  # the rule's inputs, in order
    builder = BUILDERS[spec.pop("builder")]
    spec.pop("context_tokens", None)  # used by extraction, not by the dataset
    spec.pop("path", None)  # a table's path is the rule's input
    spec.pop("paths", None)  # files the user provides are the rule's inputs
    sources = snakemake.input.source
    sources = [sources] if isinstance(sources, str) else list(sources)
    source = [Path(p) for p in sources] if several else Path(sources[0])
    dataset = builder(
        source, Path(snakemake.output.meta).parent,
        test_fraction=snakemake.params.test_fraction, seed=snakemake.params.seed,
        name=snakemake.wildcards.dataset, **spec,
    )
    log.info("%s: %d examples, %d features, fingerprint %s", dataset.name,
             dataset.examples.height, len(dataset.features), dataset.fingerprint)
