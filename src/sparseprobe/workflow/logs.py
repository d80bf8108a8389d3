"""Glue for the Snakemake scripts: logging into the rule's log file, and each job's start-up.

Every job's log gets a ``startup_s`` line: seconds from the process's start to the moment
:func:`logged` is entered (the script's imports), and a script that loads a model logs another
after loading it (:func:`log_startup`) just before its first science step. ``sparseprobe
timings`` (:mod:`sparseprobe.workflow.timings`) reads the last such line of each log as that
job's start-up. It measures wall time inside the job's process, so the interpreter's own
start before Python code runs and Snakemake's per-job bookkeeping are not in it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from sparseprobe.progress import process_seconds

STARTUP_MARK = "startup_s"
"""The word a job's start-up line starts with (``startup_s 11.42 (imports)``)."""


def log_startup(logger: logging.Logger, what: str) -> float:
    """Log the seconds since the process started as this job's start-up (``what`` says what
    it covered, e.g. ``imports + model loading``) and return them."""
    seconds = process_seconds()
    logger.info("%s %.3f (%s)", STARTUP_MARK, seconds, what)
    return seconds


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
            log_startup(logger, "imports")
            yield logger
        except BaseException:
            logger.exception("failed")
            raise
        finally:
            logger.removeHandler(handler)
            logging.getLogger("py.warnings").removeHandler(handler)
