"""Scaling dynamics (table 7): per feature, whether it emerges, sparsifies, densifies or stays
flat across a family's sizes, by a fitted trend against log size.

Definitions (best layer, sweep, ...): :mod:`sparseprobe.summaries`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from sparseprobe.summaries.model import require_columns
from sparseprobe.summaries.scaling import model_means

DYNAMICS = ("emerges", "sparsifies", "densifies", "flat", "undetermined")
"""The scaling-dynamic labels of table 7, in the order the rule tries them."""


@dataclass(frozen=True)
class DynamicsThresholds:
    """Thresholds of the scaling-dynamic labels (config ``summaries.dynamics``).

    ``min_change``: the least fitted change over the family's size range that counts: of the
    single-neuron gap for sparsifying / densifying, of the single-neuron F1 for emerging;
    ``emergence_f1``: the single-neuron F1 a feature must lack below size S and keep from S on
    to "emerge" at S.
    """

    min_change: float = 0.1
    emergence_f1: float = 0.8

    @classmethod
    def from_config(cls, summaries_config: dict | None) -> "DynamicsThresholds":
        return cls(**((summaries_config or {}).get("dynamics") or {}))


def fitted_change(log_sizes: Sequence[float], values: Sequence[float]) -> float:
    """The least-squares line of ``values`` against ``log_sizes`` (log10 n_parameters), as its
    change from the smallest to the largest size (two models: the plain difference)."""
    n = len(values)
    mean_x, mean_y = sum(log_sizes) / n, sum(values) / n
    var_x = sum((x - mean_x) ** 2 for x in log_sizes)
    if var_x == 0:
        return 0.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(log_sizes, values)) / var_x
    return slope * (max(log_sizes) - min(log_sizes))


def classify_dynamic(models: Sequence[str], f1_single: Sequence[float],
                     single_change: float | None, gap_change: float | None,
                     thresholds: DynamicsThresholds) -> tuple[str, str | None]:
    """The scaling-dynamic label of one feature and the model it emerges at (else None).

    ``models`` and ``f1_single`` are ordered by size. In order:

    - ``undetermined``: fewer than two models carry the feature;
    - ``emerges`` at S: the best single neuron's F1 is below ``emergence_f1`` in every model
      smaller than S and at least that in S and every larger model (S not the smallest), and
      it rises by at least ``min_change`` (fitted line; so a feature hovering at the threshold
      does not "emerge" by a point of F1);
    - ``sparsifies``: the single-neuron gap (``f1_best - f1_single``) shrinks by at least
      ``min_change`` over the size range (fitted line): one neuron reads out a growing share of
      what the best probe of the sweep reads;
    - ``densifies``: the gap grows by at least ``min_change``: the read-out needs more neurons;
    - ``flat``: neither.

    A label describes these models on these examples (best choices on the test split, small
    test sets: one test example can move F1 by several points); it does not establish a trend
    beyond the family's size range, nor that the same neuron is involved at every size.
    """
    if len(models) < 2 or gap_change is None or single_change is None:
        return "undetermined", None
    above = [f >= thresholds.emergence_f1 for f in f1_single]
    if not above[0] and above[-1] and single_change >= thresholds.min_change:
        first = above.index(True)
        if all(above[first:]):
            return "emerges", models[first]
    if gap_change <= -thresholds.min_change:
        return "sparsifies", None
    if gap_change >= thresholds.min_change:
        return "densifies", None
    return "flat", None


def dynamics_table(scaling: pl.DataFrame, thresholds: DynamicsThresholds) -> pl.DataFrame:
    """Table 7: per binary (dataset, category, feature) of a family's scaling table, the numbers
    its label is decided from and the label (see :func:`classify_dynamic`): n_models, the
    smallest and largest model, ``f1_single``, ``f1_best`` and ``gap_single`` (= f1_best -
    f1_single) at both ends, the fitted changes ``f1_single_change`` and ``gap_single_change``
    over log10 n_parameters, ``dynamic`` and ``emerges_at``. Models where a number is null
    (e.g. no single-neuron row) are left out of that feature's fit."""
    require_columns(scaling, ["category", "f1_single", "f1_best"], "dynamics")
    keys = ["family", "dataset", "category", "feature"]
    grouped = (
        scaling.filter((pl.col("task") == "classification") & pl.col("f1_single").is_not_null()
                       & pl.col("f1_best").is_not_null())
        .sort([*keys, "n_parameters", "model"])
        .group_by(keys, maintain_order=True)
        .agg("model", "n_parameters", "f1_single", "f1_best")
    )
    rows = []
    for row in grouped.iter_rows(named=True):
        sizes = [math.log10(n) for n in row["n_parameters"]]
        single, best = row["f1_single"], row["f1_best"]
        gaps = [b - s for b, s in zip(best, single)]
        enough = len(sizes) >= 2
        gap_change = fitted_change(sizes, gaps) if enough else None
        single_change = fitted_change(sizes, single) if enough else None
        dynamic, emerges_at = classify_dynamic(row["model"], single, single_change, gap_change,
                                               thresholds)
        rows.append({
            **{k: row[k] for k in keys}, "n_models": len(sizes),
            "smallest_model": row["model"][0], "largest_model": row["model"][-1],
            "f1_single_smallest": single[0], "f1_single_largest": single[-1],
            "f1_best_smallest": best[0], "f1_best_largest": best[-1],
            "gap_single_smallest": gaps[0], "gap_single_largest": gaps[-1],
            "f1_single_change": single_change,
            "gap_single_change": gap_change, "dynamic": dynamic, "emerges_at": emerges_at,
        })
    schema = {**{k: pl.String for k in keys}, "n_models": pl.Int32, "smallest_model": pl.String,
              "largest_model": pl.String, **{c: pl.Float64 for c in (
                  "f1_single_smallest", "f1_single_largest", "f1_best_smallest",
                  "f1_best_largest", "gap_single_smallest", "gap_single_largest",
                  "f1_single_change", "gap_single_change")},
              "dynamic": pl.String, "emerges_at": pl.String}
    return pl.DataFrame(rows, schema=schema).sort(["dataset", "feature"])


def write_family_tables(scaling_path, models_out, dynamics_out,
                        thresholds: DynamicsThresholds) -> None:
    """Tables 6 and 7 of one family from its scaling table (table 5)."""
    scaling = pl.read_parquet(scaling_path)
    model_means(scaling).write_parquet(models_out)
    dynamics_table(scaling, thresholds).write_parquet(dynamics_out)
