import _bootstrap  # noqa: F401
import time
from pathlib import Path

from sparseprobe.config import ModelSpec
from sparseprobe.models.identity import model_fingerprint, write_fingerprint
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    started = time.perf_counter()
    fingerprint = model_fingerprint(ModelSpec.from_dict(snakemake.params.model))
    write_fingerprint(fingerprint, Path(snakemake.output[0]))
    log.info("%s: fingerprint %s (%d files hashed in %.2f s)", fingerprint.model,
             fingerprint.digest, len(fingerprint.files), time.perf_counter() - started)
