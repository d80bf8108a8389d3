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


def best_layers(probes: pl.DataFrame) -> pl.DataFrame:
    """One row per (model, dataset, feature, method, k): the best layer and its metrics
    (``category`` too when the probes carry it; F1 interval columns from that layer's row)."""
    keys = [*MODEL_COLUMNS, "dataset", "feature", "task", "method", "k"]
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
