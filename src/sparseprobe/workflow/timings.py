"""Job time of a finished run by workflow step, from Snakemake's benchmark files.

Each job with a ``benchmark:`` directive leaves ``results/benchmarks/{step}/...tsv`` (its wall
time in the ``s`` column) and a log at the same relative path under ``results/logs/{step}/``
(``.log``). The step is the first folder: the rule, or for the ladder the three ladder rules
together. :func:`job_times` reads one row per job; :func:`timings_table` sums them per step
(jobs, total and mean seconds, share of the run's job time) with the start-up the jobs logged
(``startup_s`` lines, :mod:`sparseprobe.workflow.logs`).

What it does and does not establish: job time is the sum of the jobs' wall times, not the run's
wall time (jobs run in parallel; Snakemake's own planning is not in it), and on a shared machine
both grow with the load. A job's start-up is what it logged: the time from its process's start
to its first science step (imports, model loading), measured inside the job; a job whose log has
no ``startup_s`` line (a run from before the line existed, a rule without a log) counts in
``startup_jobs`` as missing, and its start-up is unknown rather than zero.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sparseprobe.errors import SummaryError
from sparseprobe.workflow.logs import STARTUP_MARK

_STARTUP = re.compile(rf"\b{STARTUP_MARK} (\d+(?:\.\d+)?)")
TOTAL = "total"
"""The step label of the table's last row (every job of the run)."""


@dataclass(frozen=True)
class JobTime:
    """One job: its step, benchmark file (relative to the benchmarks folder), wall seconds and
    logged start-up seconds (None when its log has none)."""

    step: str
    job: str
    seconds: float
    startup_s: float | None


def logged_startup(log_path: Path) -> float | None:
    """The last ``startup_s`` value of a job's log (the latest mark covers the most start-up
    work), None when the log is missing or has none."""
    if not log_path.is_file():
        return None
    values = _STARTUP.findall(log_path.read_text(errors="replace"))
    return float(values[-1]) if values else None


def benchmark_seconds(tsv: Path) -> float:
    """Wall seconds of a Snakemake benchmark file (the ``s`` column; the mean over its rows
    when the job was benchmarked repeatedly)."""
    with tsv.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or "s" not in rows[0]:
        raise SummaryError(f"{tsv}: not a Snakemake benchmark file (no 's' column or no rows)")
    try:
        return sum(float(row["s"]) for row in rows) / len(rows)
    except ValueError as error:
        raise SummaryError(f"{tsv}: column 's' is not a number ({error})") from None


def job_times(results: Path) -> list[JobTime]:
    """Every benchmarked job of the run in ``results`` (sorted by path). SummaryError names
    the folder when there are no benchmark files."""
    bench = Path(results) / "benchmarks"
    files = sorted(bench.rglob("*.tsv")) if bench.is_dir() else []
    if not files:
        raise SummaryError(f"no benchmark files under {bench} (is {results} a finished run?)")
    jobs = []
    for tsv in files:
        relative = tsv.relative_to(bench)
        log = Path(results) / "logs" / relative.with_suffix(".log")
        jobs.append(JobTime(relative.parts[0], str(relative), benchmark_seconds(tsv),
                            logged_startup(log)))
    return jobs


def timings_table(jobs: list[JobTime]) -> pl.DataFrame:
    """Per step: ``jobs``, ``total_s``, ``mean_s``, ``share`` (of all job time), ``startup_s``
    (summed over the jobs that logged it), ``startup_jobs`` (how many did) and
    ``startup_share`` (start-up over the job time of those jobs); slowest step first, then a
    ``total`` row over every job."""
    frame = pl.DataFrame(
        [(j.step, j.seconds, j.startup_s) for j in jobs],
        schema={"step": pl.String, "seconds": pl.Float64, "startup_s": pl.Float64}, orient="row",
    )
    timed = pl.col("startup_s").is_not_null()
    aggregations = [
        pl.len().alias("jobs"),
        pl.col("seconds").sum().alias("total_s"),
        pl.col("seconds").mean().alias("mean_s"),
        pl.col("startup_s").sum().alias("startup_s"),
        timed.sum().alias("startup_jobs"),
        pl.col("seconds").filter(timed).sum().alias("_timed_s"),
    ]
    per_step = frame.group_by("step").agg(aggregations).sort(["total_s", "step"],
                                                            descending=[True, False])
    overall = frame.select(pl.lit(TOTAL).alias("step"), *aggregations)
    table = pl.concat([per_step, overall])
    grand = overall["total_s"][0]
    return table.with_columns(
        share=pl.col("total_s") / grand if grand else pl.lit(None, pl.Float64),
        startup_s=pl.when(pl.col("startup_jobs") > 0).then(pl.col("startup_s")),
        startup_share=pl.when(pl.col("_timed_s") > 0)
        .then(pl.col("startup_s") / pl.col("_timed_s")),
    ).select("step", "jobs", "total_s", "mean_s", "share", "startup_s", "startup_jobs",
             "startup_share")


def run_timings(results: Path) -> pl.DataFrame:
    """:func:`timings_table` of the finished run in ``results``."""
    return timings_table(job_times(results))


def command(args) -> pl.DataFrame:
    """``sparseprobe timings [RESULTS]``: the table of RESULTS (else ``--results``)."""
    return run_timings(args.run_results or args.results)
