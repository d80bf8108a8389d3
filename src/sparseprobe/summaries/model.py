"""The per-model tables: probe rows with their feature categories (table 1) and each
feature's best layer (table 2).

Definitions (best layer, sweep, ...): :mod:`sparseprobe.summaries`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from sparseprobe.datasets.schema import feature_category
from sparseprobe.errors import SummaryError
from sparseprobe.probing.results import RESULT_SCHEMA, check_schema, read_results, write_results

MODEL_COLUMNS = ["model", "family", "n_parameters", "n_layers", "d_mlp"]
SUMMARY_COLUMNS: dict[str, pl.DataType] = {"category": pl.String, "relative_depth": pl.Float64}
"""What ``probes.parquet`` (table 1) adds to the result schema."""


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


def require_columns(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise SummaryError naming the table (``what``) and the columns it lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SummaryError(f"{what}: the frame lacks column(s) {missing}")


SELECTIONS = ("validation", "test")
"""Where the summaries choose (``summaries.selection``): on the validation split (default) or,
the paper's protocol, on the test split they report."""
WITHIN_Z = 1.96
"""Layers within the best layer's interval: F1 >= best - WITHIN_Z x its standard error."""


def check_selection(selection: str) -> str:
    """``selection`` if it is one of SELECTIONS, else SummaryError naming the config key."""
    if selection not in SELECTIONS:
        raise SummaryError(f"summaries.selection must be one of {list(SELECTIONS)}, got "
                           f"'{selection}'")
    return selection


def with_choice(probes: pl.DataFrame, keys: list[str], selection: str) -> pl.DataFrame:
    """``probes`` plus the columns a choice reads: ``_pick`` (the score chosen on: validation
    F1 / R^2, or test with ``selection: test``), ``_tie`` (the tie-break on the same split:
    ROC-AUC, null with ``test``, which keeps the paper's shallowest-first rule), ``_se`` (the
    standard error of ``_pick`` as a proportion over that split's positives,
    sqrt(F1 (1 - F1) / n_positive); null for regression targets) and ``selected_on``.

    A group of ``keys`` whose rows lack validation metrics (``split.validation_fraction: 0``,
    or a file written before the validation split) is chosen on test and labelled ``test``:
    never silently."""
    check_selection(selection)
    test, val = pl.coalesce("f1", "r2"), pl.coalesce("val_f1", "val_r2")
    test_se = (pl.col("f1") * (1 - pl.col("f1")) / pl.col("n_test_positive")).sqrt()
    val_se = (pl.col("val_f1") * (1 - pl.col("val_f1")) / pl.col("n_val_positive")).sqrt()
    if selection == "test":
        on_val = pl.lit(False)
    else:
        on_val = val.is_not_null().all().over(keys)
    return probes.with_columns(
        _pick=pl.when(on_val).then(val).otherwise(test),
        _tie=pl.when(on_val).then(pl.col("val_roc_auc")).otherwise(pl.lit(None, pl.Float64)),
        _se=pl.when(on_val).then(val_se).otherwise(test_se),
        selected_on=pl.when(on_val).then(pl.lit("validation")).otherwise(pl.lit("test")),
    )


def trivial_f1(positives: pl.Expr, n: pl.Expr) -> pl.Expr:
    """The F1 of the always-positive classifier on a split with prevalence p: 2p / (1 + p)."""
    p = positives / n
    return 2 * p / (1 + p)


def best_layers(probes: pl.DataFrame, selection: str = "validation") -> pl.DataFrame:
    """One row per (model, dataset, feature, method, k): the layer chosen on ``selection``'s
    split (:func:`with_choice`; ties: higher validation ROC-AUC, then the shallower layer) and
    its test metrics (``category`` too when the probes carry it; F1 interval columns from that
    layer's row).

    Beside them: ``selected_on``; ``val_f1`` / ``val_r2`` of the chosen layer;
    ``layers_within``, every layer whose chosen-on score lies within WITHIN_Z standard errors of
    the best (exact ties included), with ``layer_low`` / ``layer_high`` and their relative
    depths (what a figure should draw: a best layer is that range, not its shallowest end);
    ``n_test_positive``, ``n_val``, ``n_val_positive``; ``f1_trivial``, the always-positive F1
    on the test split (2p/(1+p))."""
    keys = [*MODEL_COLUMNS, "dataset", "feature", "task", "method", "k"]
    extra = ["category"] if "category" in probes.columns else []
    ranked = (
        with_choice(probes, keys, selection)
        .sort([*keys, "_pick", "_tie", "layer"],
              descending=[False] * len(keys) + [True, True, False], nulls_last=True)
    )
    within = (
        ranked.filter(pl.col("_pick").is_not_null())
        .with_columns(_best=pl.col("_pick").first().over(keys),
                      _best_se=pl.col("_se").first().over(keys).fill_null(0.0).fill_nan(0.0))
        .filter(pl.col("_pick") >= pl.col("_best") - WITHIN_Z * pl.col("_best_se") - 1e-12)
        .group_by(keys).agg(layers_within=pl.col("layer").sort())
    )
    return (
        ranked.group_by(keys, maintain_order=True)
        .first()
        .join(within, on=keys, how="left")
        .select(
            *keys, *extra,
            best_layer="layer",
            relative_depth=(pl.col("layer") + 1) / pl.col("n_layers"),
            f1="f1", mcc="mcc", roc_auc="roc_auc", pr_auc="pr_auc", r2="r2", mae="mae",
            n_test="n_test", f1_ci_low="f1_ci_low", f1_ci_high="f1_ci_high",
            selected_on="selected_on", val_f1="val_f1", val_r2="val_r2",
            layers_within="layers_within",
            layer_low=pl.col("layers_within").list.min(),
            layer_high=pl.col("layers_within").list.max(),
            relative_depth_low=(pl.col("layers_within").list.min() + 1) / pl.col("n_layers"),
            relative_depth_high=(pl.col("layers_within").list.max() + 1) / pl.col("n_layers"),
            n_test_positive="n_test_positive", n_val="n_val", n_val_positive="n_val_positive",
            f1_trivial=trivial_f1(pl.col("n_test_positive"), pl.col("n_test")),
        )
        .sort(["dataset", "feature", "method", "k"])
    )


def write_model_summary(probe_files, meta_files, probes_out, best_out,
                        selection: str = "validation") -> None:
    """Concatenate one model's probe files (schema-checked), add each feature's category from
    the datasets' meta.json, write table 1 (``probes_out``) and table 2 (``best_out``, chosen
    on ``selection``)."""
    probes = add_categories(read_results(list(probe_files)), dataset_categories(meta_files))
    write_results(probes, Path(probes_out))
    best_layers(probes, selection).write_parquet(best_out)
