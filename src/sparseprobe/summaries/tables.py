"""Aggregations of the long-format probe results (polars): the summary tables (the figures drawn
from them are in ``sparseprobe.report.plots``). docs/summaries.md describes every table; the contract the other stages read is there.

Definitions (used by every table here):

- *best layer* of (model, dataset, feature, method, k): the layer whose probe has the highest test
  F1 (regression targets: the highest test R^2; ties: the shallowest). Choosing the layer on the
  test split makes these F1s an optimistic summary of the sweep; they are descriptive, not an
  unbiased estimate of a fresh probe.
- *relative depth* of layer L in an n-layer model: (L + 1) / n.
- *F1 at k* for k larger than a model's d_mlp reads the k = d_mlp probe (the grid is capped).
- *sweep*: the rows of the ``mean_diff`` ranking (regression targets: ``correlation``), the
  paper's default k-sparse sweep; ``f1_k{k}``, ``k_90``, ``k_95`` and ``gap`` read it.
- *single-neuron probe*: any binary (classification) row with k = 1 whose one neuron is a neuron
  of the model's own basis: the 30 ``single_neuron`` rows per layer and the k = 1 rows of every
  ranking or search method (``mean_diff``, ``anova_f``, ``optimal``, ...; a method added later
  counts without a code change). Excluded: ``dense`` and the controls ``random_basis`` (its
  "neurons" are rotated directions) and ``shuffled_labels`` (trained on permuted labels).
- *best single neuron* of a feature: the single-neuron probe with the highest test F1 over every
  layer and method (ties: higher MCC, then shallower layer, lower neuron index, method name).
  Chosen on the test split, so its F1 is optimistic, more so than the best layer alone: it is
  the maximum over up to 30+ candidates per layer. It says that one neuron reads the feature out
  this well on these examples; it does not say the neuron is dedicated to the feature (test it
  with the ``random_basis`` control and ablations) nor that no other neuron does as well.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sparseprobe.datasets.schema import feature_category
from sparseprobe.errors import SummaryError
from sparseprobe.probing.results import RESULT_SCHEMA, check_schema, read_results, write_results

_MODEL_COLUMNS = ["model", "family", "n_parameters", "n_layers", "d_mlp"]
SWEEP_METHODS = ("mean_diff", "correlation")
NOT_NEURON_METHODS = ("dense", "random_basis", "shuffled_labels")
"""Methods whose k = 1 rows are not a probe on one of the model's neurons."""
SUMMARY_COLUMNS: dict[str, pl.DataType] = {"category": pl.String, "relative_depth": pl.Float64}
"""What ``probes.parquet`` (table 1) adds to the result schema."""
NEURON_COLUMNS = [
    "model", "family", "n_parameters", "n_layers", "dataset", "category", "feature", "layer",
    "relative_depth", "neuron", "method", "mcc", "f1", "precision", "recall", "coef",
    "f1_ci_low", "f1_ci_high",
]
DYNAMICS = ("emerges", "sparsifies", "densifies", "flat", "undetermined")
"""The scaling-dynamic labels of table 7, in the order the rule tries them."""


# ---- categories and the model tables (1, 2) ------------------------------------------------


def dataset_categories(meta_files: Iterable[str | Path]) -> pl.DataFrame:
    """(dataset, feature, category) for every feature of the given datasets' ``meta.json``.

    The category is :func:`sparseprobe.datasets.feature_category` (the dataset's category unless
    ``feature_categories`` in the meta says otherwise), the same answer as
    ``FeatureDataset.category_of``.
    """
    rows = []
    for path in meta_files:
        meta = json.loads(Path(path).read_text())
        for key in ("name", "category", "features"):
            if key not in meta:
                raise SummaryError(f"{path}: meta.json has no key '{key}'")
        rows += [(meta["name"], f, feature_category(meta, f)) for f in meta["features"]]
    return pl.DataFrame(rows, schema={"dataset": pl.String, "feature": pl.String,
                                      "category": pl.String}, orient="row").unique(
        ["dataset", "feature"], keep="first", maintain_order=True)


def add_categories(probes: pl.DataFrame, categories: pl.DataFrame) -> pl.DataFrame:
    """Result rows plus ``category`` and ``relative_depth`` (table 1). A feature no meta.json
    names is an error (naming it), never a null category."""
    out = probes.drop([c for c in SUMMARY_COLUMNS if c in probes.columns]).join(
        categories, on=["dataset", "feature"], how="left", maintain_order="left")
    missing = out.filter(pl.col("category").is_null()).select("dataset", "feature").unique()
    if missing.height:
        pairs = ", ".join(f"{d}/{f}" for d, f in missing.sort("dataset", "feature").rows()[:10])
        raise SummaryError(f"no dataset meta.json gives the category of feature(s) {pairs}")
    return out.with_columns(relative_depth=(pl.col("layer") + 1) / pl.col("n_layers"))


def read_probe_summaries(paths: Sequence[str | Path]) -> pl.DataFrame:
    """Concatenate ``probes.parquet`` tables (table 1): the result schema (checked by
    :func:`sparseprobe.probing.results.check_schema`) plus ``category`` and ``relative_depth``."""
    frames = []
    for path in paths:
        if not Path(path).is_file():
            raise SummaryError(f"{path}: missing (run the workflow's model_summary rule)")
        frame = pl.read_parquet(path)
        check_schema(frame, str(path))
        for col, dtype in SUMMARY_COLUMNS.items():
            if frame.schema.get(col) != dtype:
                raise SummaryError(
                    f"{path}: column '{col}' is {frame.schema.get(col, 'missing')}, expected "
                    f"{dtype} (a probes.parquet written before categories: re-run the workflow)")
        frames.append(frame.select([*RESULT_SCHEMA, *SUMMARY_COLUMNS]))
    if not frames:
        raise SummaryError("no probe summary files to read")
    return pl.concat(frames)


def _require(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SummaryError(f"{what}: the frame lacks column(s) {missing}")


def best_layers(probes: pl.DataFrame) -> pl.DataFrame:
    """One row per (model, dataset, feature, method, k): the best layer and its metrics
    (``category`` too when the probes carry it; F1 interval columns from that layer's row)."""
    keys = [*_MODEL_COLUMNS, "dataset", "feature", "task", "method", "k"]
    extra = ["category"] if "category" in probes.columns else []
    return (
        probes.with_columns(_score=pl.coalesce("f1", "r2"))
        .sort([*keys, "_score", "layer"], descending=[False] * len(keys) + [True, False],
              nulls_last=True)
        .group_by(keys, maintain_order=True)
        .first()
        .select(
            *keys, *extra,
            best_layer="layer",
            relative_depth=(pl.col("layer") + 1) / pl.col("n_layers"),
            f1="f1", mcc="mcc", roc_auc="roc_auc", pr_auc="pr_auc", r2="r2", mae="mae",
            n_test="n_test", f1_ci_low="f1_ci_low", f1_ci_high="f1_ci_high",
        )
        .sort(["dataset", "feature", "method", "k"])
    )


def write_model_summary(probe_files, meta_files, probes_out, best_out) -> None:
    """Concatenate one model's probe files (schema-checked), add each feature's category from
    the datasets' meta.json, write table 1 (``probes_out``) and table 2 (``best_out``)."""
    probes = add_categories(read_results(list(probe_files)), dataset_categories(meta_files))
    write_results(probes, Path(probes_out))
    best_layers(probes).write_parquet(best_out)


# ---- neuron tables (3, 4) -------------------------------------------------------------------


def single_neuron_probes(probes: pl.DataFrame) -> pl.DataFrame:
    """Every single-neuron probe (see the module docstring) as a neuron-table row, best first
    within each (model, dataset, feature): F1 descending, then MCC descending, shallower
    layer, lower neuron index, method name (so ties resolve the same way every run)."""
    _require(probes, ["category"], "single-neuron probes")
    rows = probes.filter(
        (pl.col("task") == "classification") & (pl.col("k") == 1)
        & ~pl.col("method").is_in(NOT_NEURON_METHODS) & pl.col("f1").is_not_null()
        & (pl.col("neurons").list.len() == 1)
    )
    return (
        rows.select(
            "model", "family", "n_parameters", "n_layers", "dataset", "category", "feature",
            "layer",
            relative_depth=(pl.col("layer") + 1) / pl.col("n_layers"),
            neuron=pl.col("neurons").list.first(),
            method="method", mcc="mcc", f1="f1", precision="precision", recall="recall",
            coef=pl.col("coefficients").list.first().cast(pl.Float64),
            f1_ci_low="f1_ci_low", f1_ci_high="f1_ci_high",
        )
        .sort(["model", "dataset", "feature", "f1", "mcc", "layer", "neuron", "method"],
              descending=[False, False, False, True, True, False, False, False],
              nulls_last=True)
    )


def best_neurons(probes: pl.DataFrame) -> pl.DataFrame:
    """Table 3: the best single neuron of every binary feature over all layers, one row per
    (model, dataset, feature), sorted by model, dataset, feature.

    Establishes: this neuron alone, with a probe fitted on the train split, reached this test
    F1. Does not establish: that it is the only such neuron, that it encodes the feature
    causally, or an unbiased F1 (it is the best of many candidates chosen on the test split).
    """
    return (
        single_neuron_probes(probes)
        .group_by(["model", "dataset", "feature"], maintain_order=True).first()
        .select(NEURON_COLUMNS)
    )


def neurons_above(probes: pl.DataFrame, min_f1: float) -> pl.DataFrame:
    """Table 4: every distinct (model, dataset, feature, layer, neuron) single-neuron probe with
    test F1 >= ``min_f1`` (a neuron probed by several methods appears once, with its best row),
    sorted by model, dataset, feature, F1 descending (then layer, neuron). Its count is
    optimistic for the same reason as table 3: the F1 that admits a neuron is a test F1."""
    return (
        single_neuron_probes(probes)
        .group_by(["model", "dataset", "feature", "layer", "neuron"], maintain_order=True)
        .first()
        .filter(pl.col("f1") >= min_f1)
        .sort(["model", "dataset", "feature", "f1", "layer", "neuron"],
              descending=[False, False, False, True, False, False])
        .select(NEURON_COLUMNS)
    )


def write_neuron_tables(probes_path, best_parquet, best_csv, above_parquet, above_csv,
                        min_f1: float) -> None:
    """Tables 3 and 4 of one model, each as Parquet and CSV (the paper's neuron-list format)."""
    probes = read_probe_summaries([probes_path])
    for table, parquet, csv in ((best_neurons(probes), best_parquet, best_csv),
                                (neurons_above(probes, min_f1), above_parquet, above_csv)):
        table.write_parquet(parquet)
        table.write_csv(csv)


# ---- the family scaling table (5) -----------------------------------------------------------


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
    keys = [*_MODEL_COLUMNS, "dataset", "feature", "task"]
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


# ---- per-model means (6) and scaling dynamics (7) --------------------------------------------


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
    _require(scaling, ["category", "f1_single", "k_90", "k_95", "gap"], "model means")
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
    _require(scaling, ["category", "f1_single", "f1_best"], "dynamics")
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
