"""Glue for the Snakemake scripts: logging into the rule's log file."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def logged(log_path: str | Path) -> Iterator[logging.Logger]:
    """Send stdout, stderr, warnings and the ``sparseprobe`` logger to ``log_path``.

    Exceptions still propagate (Snakemake then marks the job failed and removes its outputs);
    their traceback is written to the log first.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as handle, contextlib.redirect_stdout(handle), \
            contextlib.redirect_stderr(handle):
        logger = logging.getLogger("sparseprobe")
        handler = logging.StreamHandler(handle)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logging.captureWarnings(True)
        logging.getLogger("py.warnings").addHandler(handler)
        try:
            yield logger
        except BaseException:
            logger.exception("failed")
            raise
        finally:
            logger.removeHandler(handler)
            logging.getLogger("py.warnings").removeHandler(handler)
