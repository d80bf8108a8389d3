"""Across model scale: a family's scaling table (table 5) and the per-model means of its
binary features (table 6).

Definitions (best layer, sweep, ...): :mod:`sparseprobe.summaries`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from sparseprobe.datasets.schema import stable_seed

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


MIN_TEST_POSITIVES = 30
"""Default ``summaries.min_test_positives``: a feature with fewer test positives (or
negatives) is flagged ``small_test`` and left out of the headline means."""


def scaling_table(probes: pl.DataFrame, k_values: list[int], selection: str = "validation",
                  min_test_positives: int = MIN_TEST_POSITIVES) -> pl.DataFrame:
    """Table 5, per (model, dataset, feature): best-layer numbers of the sweep and dense probe,
    every layer and neuron chosen on ``selection``'s split (validation by default;
    :func:`~sparseprobe.summaries.model.best_layers`), every F1 the test split's.

    Columns: model columns, dataset, feature, category (when the probes carry it), task;
    ``f1_k{k}`` / ``r2_k{k}`` / ``layer_k{k}`` (and ``layer_k{k}_low`` / ``_high``, the layers
    within the best one's interval) for each k in ``k_values`` (sweep rows);
    ``f1_dense`` / ``r2_dense`` / ``layer_dense`` (``_low`` / ``_high``); ``selected_on``
    (``validation``, or ``test`` where any of the feature's choices fell back to test); and

    - ``f1_single``: test F1 of the best single neuron (table 3; null for regression targets),
      ``f1_single_val`` its validation F1;
    - ``f1_k1_ci_low/high``, ``f1_dense_ci_low/high``: bootstrap interval of the best layer's
      test F1 (null without ``probing.bootstrap``);
    - ``k_90``, ``k_95``: the smallest k of the grid whose best-layer sweep score (F1; R^2 for
      regression targets) reaches 90% / 95% of the dense score; null if no k does, or if the
      dense score is <= 0 (not a minimum over all supports: ``optimal`` rows are not read);
    - ``f1_best``: the highest best-layer test F1 of the sweep over every k, dense included;
    - ``gap``: ``f1_dense - f1_k1``;
    - ``f1_trivial``: the always-positive classifier's test F1, 2p/(1+p); ``f1_shuffled``: the
      ``shuffled_dense`` control's test F1 at its own chosen layer (null when the run had no
      control: ``probing.shuffled_control`` off); ``beats_controls``: ``f1_dense`` above
      ``f1_trivial`` and above ``f1_shuffled`` (where present);
    - ``n_test_positive``, ``n_test_negative``; ``small_test``: either below
      ``min_test_positives`` (an F1 on 6 positives moves by 0.1 with one example);
    - ``in_headline``: a binary feature that is not ``small_test``, ``beats_controls`` and,
      with ``selection: validation``, was chosen on validation (a feature without a usable
      validation part, e.g. a LaTeX feature whose positives sit in few documents, would be chosen
      on test): the features every headline mean and count (table 6) is taken over.

    Rows sorted by dataset, feature and model size.
    """
    best = best_layers(probes, selection).with_columns(_score=pl.coalesce("f1", "r2"))
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
                   pl.col("best_layer").alias(f"layer_{suffix}"),
                   pl.col("layer_low").alias(f"layer_{suffix}_low"),
                   pl.col("layer_high").alias(f"layer_{suffix}_high")]
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
    counts = best.group_by(keys).agg(
        n_test_positive=pl.col("n_test_positive").max(),
        n_test_negative=(pl.col("n_test") - pl.col("n_test_positive")).max(),
        f1_trivial=pl.col("f1_trivial").max(),
        selected_on=pl.when((pl.col("selected_on") == "validation").all())
        .then(pl.lit("validation")).otherwise(pl.lit("test")))
    shuffled = best.filter(pl.col("method") == "shuffled_dense").select(*keys, f1_shuffled="f1")
    table = table.join(counts, on=keys, how="left").join(shuffled, on=keys, how="left")
    if extra:
        single = best_neurons(probes, selection).select(
            "model", "dataset", "feature", f1_single="f1", f1_single_val="val_f1")
        table = table.join(single, on=["model", "dataset", "feature"], how="left")
    beats = ((pl.col("f1_dense") > pl.col("f1_trivial"))
             & (pl.col("f1_shuffled").is_null() | (pl.col("f1_dense") > pl.col("f1_shuffled"))))
    small = ((pl.col("n_test_positive") < min_test_positives)
             | (pl.col("n_test_negative") < min_test_positives))
    binary = pl.col("task") == "classification"
    return (
        table.with_columns(gap=pl.col("f1_dense") - pl.col("f1_k1"),
                           k_90=pl.col("k_90").cast(pl.Int32), k_95=pl.col("k_95").cast(pl.Int32),
                           beats_controls=binary & beats.fill_null(False),
                           small_test=binary & small.fill_null(True))
        .with_columns(in_headline=binary & ~pl.col("small_test") & pl.col("beats_controls")
                      & ((pl.col("selected_on") == "validation") | (selection == "test")))
        .sort(["dataset", "feature", "n_parameters"])
    )


def write_scaling_table(model_probe_files, out_path, k_values: list[int],
                        selection: str = "validation",
                        min_test_positives: int = MIN_TEST_POSITIVES) -> None:
    """Read the per-model probe tables (table 1) of one family and write its scaling table."""
    scaling_table(read_probe_summaries(list(model_probe_files)), k_values, selection,
                  min_test_positives).write_parquet(out_path)


HEADLINES = {
    "mean_f1_k1": ("f1_k1", "mean"), "mean_f1_single": ("f1_single", "mean"),
    "mean_f1_dense": ("f1_dense", "mean"), "mean_gap": ("gap", "mean"),
    "n_single_f1_ge_0_9": ("f1_single", "count_ge_0_9"),
}
"""Table 6's headline columns with a bootstrap interval over features: (scaling column,
statistic)."""
BOOTSTRAP_RESAMPLES = 1000


def _statistic(values: np.ndarray, kind: str) -> np.ndarray:
    """Per row of ``values`` [B, n] (NaN = missing): the mean over non-missing, or the count
    >= 0.9."""
    if kind == "mean":
        with np.errstate(invalid="ignore"):
            return np.nanmean(values, axis=1) if values.shape[1] else np.full(len(values), np.nan)
    return (values >= 0.9).sum(axis=1).astype(np.float64)


def feature_bootstrap(values: np.ndarray, kind: str, resamples: int, seed: int
                      ) -> tuple[float | None, float | None]:
    """95% percentile interval of a mean (``kind`` "mean") or a count of values >= 0.9
    (``count_ge_0_9``) over features resampled with replacement (``resamples`` times,
    ``seed``): how far the headline moves with the choice of features, so a change from one
    model to the next says whether it is beyond that noise. It does not cover the noise of each
    feature's own F1 (its test examples)."""
    values = np.asarray(values, dtype=np.float64)
    if resamples <= 0 or len(values) == 0 or np.isnan(values).all():
        return None, None
    idx = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    stats = _statistic(values[idx], kind)
    stats = stats[~np.isnan(stats)]
    if len(stats) == 0:
        return None, None
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(low), float(high)


def model_means(scaling: pl.DataFrame, resamples: int = BOOTSTRAP_RESAMPLES,
                seed: int = 0) -> pl.DataFrame:
    """Table 6: per (model, category) and per model over every category ("all"), the means of
    table 5's binary features, twice: over every binary feature (``mean_*``, ``n_*``: the
    descriptive numbers, as before) and over the *headline* features (``headline_*``:
    ``in_headline``, a test split of at least ``summaries.min_test_positives`` positives and
    negatives and a dense probe above both controls; the numbers a claim may rest on). Sorted
    by category, n_parameters.

    - ``n_features``: binary features; ``n_headline`` the headline ones, ``n_small_test`` those
      left out for a small test split, ``n_below_controls`` those left out because their dense
      probe does not beat the always-positive or shuffled-label F1;
    - ``mean_f1_k1`` (best-layer k = 1 sweep F1), ``mean_f1_single`` (best single neuron),
      ``mean_f1_dense``, ``mean_gap``: plain means over features, each feature weighted alike;
      ``headline_mean_*`` the same over headline features (null when there are none);
    - ``mean_f1_trivial``, ``mean_f1_shuffled``: the mean always-positive F1 (2p/(1+p)) and
      the mean ``shuffled_dense`` control F1 (null without the control), the floor the means
      above are to be read against;
    - ``median_k_90``, ``median_k_95``: medians over the features that reach the level at all;
      ``n_never_k_90``, ``n_never_k_95`` count those that do not;
    - ``n_single_f1_ge_0_9`` / ``headline_n_single_f1_ge_0_9``: features with a single neuron
      of test F1 >= 0.9;
    - ``{column}_ci_low/high`` for each of HEADLINES and its ``headline_`` twin: a 95%
      bootstrap interval over features (:func:`feature_bootstrap`, ``resamples``, seeded by
      ``seed``, model, category and column);
    - ``selected_on``: ``validation`` when every feature's choices were made on validation.

    With ``selected_on = validation`` the test F1s are honest estimates for what was chosen;
    with ``test`` they are optimistic. Comparing models of one family on the same datasets is
    fair; comparing with the paper's numbers is not (different features, examples, models).
    A scaling table without ``in_headline`` (written before it existed) counts every binary
    feature as a headline feature.
    """
    require_columns(scaling, ["category", "f1_single", "k_90", "k_95", "gap"], "model means")
    binary = scaling.filter(pl.col("task") == "classification")
    for column, default in (("in_headline", True), ("small_test", False),
                            ("beats_controls", True), ("selected_on", "test"),
                            ("f1_trivial", None), ("f1_shuffled", None)):
        if column not in binary.columns:
            binary = binary.with_columns(pl.lit(default).alias(column))
    keys = ["model", "family", "n_parameters", "n_layers", "category"]
    head = pl.col("in_headline")
    aggregations = [
        pl.len().cast(pl.Int32).alias("n_features"),
        head.sum().cast(pl.Int32).alias("n_headline"),
        pl.col("small_test").sum().cast(pl.Int32).alias("n_small_test"),
        (~pl.col("small_test") & ~pl.col("beats_controls")).sum().cast(pl.Int32)
        .alias("n_below_controls"),
        (pl.col("selected_on") == "test").sum().cast(pl.Int32).alias("n_chosen_on_test"),
        pl.col("f1_trivial").cast(pl.Float64).mean().alias("mean_f1_trivial"),
        pl.col("f1_shuffled").cast(pl.Float64).mean().alias("mean_f1_shuffled"),
        pl.col("k_90").cast(pl.Float64).median().alias("median_k_90"),
        pl.col("k_95").cast(pl.Float64).median().alias("median_k_95"),
        pl.col("k_90").is_null().sum().cast(pl.Int32).alias("n_never_k_90"),
        pl.col("k_95").is_null().sum().cast(pl.Int32).alias("n_never_k_95"),
        pl.when((pl.col("selected_on") == "validation").all()).then(pl.lit("validation"))
        .otherwise(pl.lit("test")).alias("selected_on"),
    ]
    for prefix, where in (("", pl.lit(True)), ("headline_", head)):
        for name, (column, kind) in HEADLINES.items():
            values = pl.col(column).filter(where)
            aggregations += [
                (values.mean() if kind == "mean" else (values >= 0.9).sum().cast(pl.Int32))
                .alias(prefix + name),
                values.alias(f"_v_{prefix}{name}"),
            ]
    per_category = binary.group_by(keys).agg(aggregations)
    overall = binary.with_columns(category=pl.lit("all")).group_by(keys).agg(aggregations)
    means = pl.concat([per_category, overall]).sort(["category", "n_parameters", "model"])
    names = [(prefix + name, kind) for prefix in ("", "headline_")
             for name, (_, kind) in HEADLINES.items()]
    intervals: dict[str, list] = {f"{n}_ci_{e}": [] for n, _ in names for e in ("low", "high")}
    for row in means.iter_rows(named=True):
        for name, kind in names:
            values = np.array([np.nan if v is None else v for v in row[f"_v_{name}"]])
            low, high = feature_bootstrap(values, kind, resamples, stable_seed(
                seed, row["model"], row["category"], name) & 0xFFFFFFFF)
            intervals[f"{name}_ci_low"].append(low)
            intervals[f"{name}_ci_high"].append(high)
    return means.drop([f"_v_{n}" for n, _ in names]).with_columns(
        pl.Series(k, v, dtype=pl.Float64) for k, v in intervals.items())
