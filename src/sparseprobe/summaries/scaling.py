"""Across model scale: a family's scaling table (table 5) and the per-model means of its
binary features (table 6).

Definitions (best layer, sweep, ...): :mod:`sparseprobe.summaries`.
"""

from __future__ import annotations

import polars as pl

from sparseprobe.summaries.model import (
    MODEL_COLUMNS,
    best_layers,
    read_probe_summaries,
    require_columns,
)
from sparseprobe.summaries.neuron_tables import best_neurons

SWEEP_METHODS = ("mean_diff", "correlation")


def first_k_reaching(sweep: pl.DataFrame, dense: pl.DataFrame, keys: list[str],
                      fraction: float, name: str) -> pl.DataFrame:
    """Per key: the smallest k whose sweep score reaches ``fraction`` x the dense score (a
    1e-12 tolerance absorbs float rounding); no row when never or when dense <= 0."""
    return (
        sweep.join(dense, on=keys)
        .filter((pl.col("_dense") > 0)
                & (pl.col("_score") >= fraction * pl.col("_dense") - 1e-12))
        .group_by(keys).agg(pl.col("k").min().cast(pl.Int32).alias(name))
    )


def scaling_table(probes: pl.DataFrame, k_values: list[int]) -> pl.DataFrame:
    """Table 5, per (model, dataset, feature): best-layer numbers of the sweep and dense probe.

    Columns: model columns, dataset, feature, category (when the probes carry it), task;
    ``f1_k{k}`` / ``r2_k{k}`` / ``layer_k{k}`` for each k in ``k_values`` (sweep rows);
    ``f1_dense`` / ``r2_dense`` / ``layer_dense``; and

    - ``f1_single``: F1 of the best single neuron (table 3; null for regression targets);
    - ``f1_k1_ci_low/high``, ``f1_dense_ci_low/high``: bootstrap interval of the best layer's
      F1 (null without ``probing.bootstrap``) - an interval for that probe on this test split,
      which does not cover the choice of the layer;
    - ``k_90``, ``k_95``: the smallest k of the grid whose best-layer sweep score (F1; R^2 for
      regression targets) reaches 90% / 95% of the dense score; null if no k does, or if the
      dense score is <= 0. A low k says few neurons (by mean difference) carry nearly all that a
      linear probe on the whole layer finds; it is not a minimum over all supports (``optimal``
      rows are not read), and it inherits the test-split choice of the layer;
    - ``f1_best``: the highest best-layer F1 of the sweep over every k, dense included (the
      best read-out the sweep found; the reference of the scaling dynamics);
    - ``gap``: ``f1_dense - f1_k1``, how much a whole layer adds to the top neuron by mean
      difference (negative when the dense probe does worse, e.g. it overfits a small train set).

    Rows sorted by dataset, feature and model size.
    """
    best = best_layers(probes).with_columns(_score=pl.coalesce("f1", "r2"))
    extra = ["category"] if "category" in best.columns else []
    keys = [*MODEL_COLUMNS, "dataset", "feature", "task"]
    table = best.select([*keys, *extra]).unique(maintain_order=True)
    sweep = best.filter(pl.col("method").is_in(SWEEP_METHODS))
    dense = best.filter(pl.col("method") == "dense")
    picks = [(f"k{k}", sweep.filter(pl.col("k") == pl.min_horizontal(pl.lit(k), pl.col("d_mlp"))))
             for k in k_values]
    picks.append(("dense", dense))
    for suffix, part in picks:
        columns = [pl.col("f1").alias(f"f1_{suffix}"), pl.col("r2").alias(f"r2_{suffix}"),
                   pl.col("best_layer").alias(f"layer_{suffix}")]
        if suffix in ("k1", "dense"):
            columns += [pl.col("f1_ci_low").alias(f"f1_{suffix}_ci_low"),
                        pl.col("f1_ci_high").alias(f"f1_{suffix}_ci_high")]
        table = table.join(part.select(*keys, *columns), on=keys, how="left")
    if "f1_k1" not in table.columns:  # the contract's f1_k1 columns exist for any scaling_k
        table = table.join(sweep.filter(pl.col("k") == 1).select(
            *keys, f1_k1="f1", f1_k1_ci_low="f1_ci_low", f1_k1_ci_high="f1_ci_high"),
            on=keys, how="left")
    dense_score = dense.select(*keys, _dense="_score")
    for fraction, name in ((0.9, "k_90"), (0.95, "k_95")):
        table = table.join(first_k_reaching(sweep, dense_score, keys, fraction, name),
                           on=keys, how="left")
    f1_best = pl.concat([sweep, dense]).group_by(keys).agg(f1_best=pl.col("f1").max())
    table = table.join(f1_best, on=keys, how="left")
    if extra:
        single = best_neurons(probes).select("model", "dataset", "feature", f1_single="f1")
        table = table.join(single, on=["model", "dataset", "feature"], how="left")
    return (
        table.with_columns(gap=pl.col("f1_dense") - pl.col("f1_k1"),
                           k_90=pl.col("k_90").cast(pl.Int32), k_95=pl.col("k_95").cast(pl.Int32))
        .sort(["dataset", "feature", "n_parameters"])
    )


def write_scaling_table(model_probe_files, out_path, k_values: list[int]) -> None:
    """Read the per-model probe tables (table 1) of one family and write its scaling table."""
    scaling_table(read_probe_summaries(list(model_probe_files)), k_values).write_parquet(out_path)


def model_means(scaling: pl.DataFrame) -> pl.DataFrame:
    """Table 6: per (model, category) and per model over every category ("all"), the binary
    features' means of table 5. Sorted by category, n_parameters.

    - ``n_features``: binary features averaged (regression targets are left out: no F1);
    - ``mean_f1_k1`` (best-layer k = 1 sweep F1), ``mean_f1_single`` (best single neuron),
      ``mean_f1_dense``, ``mean_gap``: plain means over features, each feature weighted alike;
    - ``median_k_90``, ``median_k_95``: medians over the features that reach the level at all;
      ``n_never_k_90``, ``n_never_k_95`` count those that do not;
    - ``n_single_f1_ge_0_9``: features with a single neuron of test F1 >= 0.9.

    The means inherit the optimism of the test-split choices in table 5; comparing them across
    models of one family on the same datasets is fair (same choices, same examples), comparing
    them with the paper's numbers is not (different features, examples and models).
    """
    require_columns(scaling, ["category", "f1_single", "k_90", "k_95", "gap"], "model means")
    binary = scaling.filter(pl.col("task") == "classification")
    keys = ["model", "family", "n_parameters", "n_layers", "category"]
    aggregations = [
        pl.len().cast(pl.Int32).alias("n_features"),
        pl.col("f1_k1").mean().alias("mean_f1_k1"),
        pl.col("f1_single").mean().alias("mean_f1_single"),
        pl.col("f1_dense").mean().alias("mean_f1_dense"),
        pl.col("gap").mean().alias("mean_gap"),
        pl.col("k_90").cast(pl.Float64).median().alias("median_k_90"),
        pl.col("k_95").cast(pl.Float64).median().alias("median_k_95"),
        (pl.col("f1_single") >= 0.9).sum().cast(pl.Int32).alias("n_single_f1_ge_0_9"),
        pl.col("k_90").is_null().sum().cast(pl.Int32).alias("n_never_k_90"),
        pl.col("k_95").is_null().sum().cast(pl.Int32).alias("n_never_k_95"),
    ]
    per_category = binary.group_by(keys).agg(aggregations)
    overall = binary.with_columns(category=pl.lit("all")).group_by(keys).agg(aggregations)
    return pl.concat([per_category, overall]).sort(["category", "n_parameters", "model"])
