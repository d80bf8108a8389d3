"""Read the per-rule job counts of a Snakemake plan (``snakemake -n --quiet rules``)."""

from __future__ import annotations

import re


def job_counts(output: str) -> dict[str, int]:
    """Rule -> jobs from the last "Job stats" table of a dry run's output ({} when the plan is
    empty, i.e. "Nothing to be done")."""
    if "Job stats:" not in output:
        if "Nothing to be done" in output:
            return {}
        raise AssertionError(f"no job stats in the snakemake output:\n{output[-3000:]}")
    table = output.rsplit("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.fullmatch(r"(\S+)\s+(\d+)", line.strip())
        if not match:
            break
        counts[match.group(1)] = int(match.group(2))
    counts.pop("total", None)
    return counts
