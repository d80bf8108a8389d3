"""Reading the per-model neuron table (``results/summaries/models/{model}/neurons.parquet``).

The table is written by the summaries step (``sparseprobe.summaries.neuron_tables``): one row
per binary (dataset, feature) of the model, the best single neuron over all layers (the k = 1
probe with the highest test F1). This module only reads and checks it for the neuron case studies and the
ablation; see docs/neurons.md. Choosing the neuron by test F1 makes its F1 an optimistic,
descriptive number (the same caveat as every best-layer summary).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sparseprobe.errors import NeuronStudyError

NEURON_COLUMNS: dict[str, type[pl.DataType]] = {
    "model": pl.String, "dataset": pl.String, "feature": pl.String, "layer": pl.Int32,
    "neuron": pl.Int32, "f1": pl.Float64, "mcc": pl.Float64, "coef": pl.Float64,
}
"""The columns this module needs (a subset of the table's documented columns), with dtypes."""


def check_neuron_table(table: pl.DataFrame, where: str) -> pl.DataFrame:
    """``table`` with the needed columns cast to their dtypes; NeuronStudyError naming ``where``
    and the column when one is missing or cannot be cast, or when a (dataset, feature) repeats."""
    missing = [c for c in NEURON_COLUMNS if c not in table.columns]
    if missing:
        raise NeuronStudyError(
            f"{where}: neuron table lacks column(s) {missing}; expected at least "
            f"{list(NEURON_COLUMNS)}"
        )
    try:
        table = table.with_columns(
            pl.col(c).cast(t, strict=True) for c, t in NEURON_COLUMNS.items()
        )
    except pl.exceptions.PolarsError as exc:
        raise NeuronStudyError(f"{where}: neuron table column has the wrong type: {exc}") from exc
    repeats = table.group_by("dataset", "feature").len().filter(pl.col("len") > 1)
    if repeats.height:
        pairs = repeats.select("dataset", "feature").rows()[:5]
        raise NeuronStudyError(
            f"{where}: expected one row per (dataset, feature), repeated: {pairs}"
        )
    return table


def read_neuron_table(path: str | Path) -> pl.DataFrame:
    """The checked neuron table at ``path`` (see :func:`check_neuron_table`)."""
    path = Path(path)
    if not path.is_file():
        raise NeuronStudyError(f"{path}: neuron table missing")
    return check_neuron_table(pl.read_parquet(path), str(path))


def top_neurons(table: pl.DataFrame, n: int) -> pl.DataFrame:
    """The ``n`` rows with the highest F1 (ties: higher MCC, then dataset and feature name), with
    a 1-based ``rank`` column. Rows without an F1 never rank."""
    return (
        table.filter(pl.col("f1").is_not_null())
        .sort(["f1", "mcc", "dataset", "feature"], descending=[True, True, False, False],
              nulls_last=True)
        .head(n)
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int32))
    )


def neuron_of(table: pl.DataFrame, dataset: str, feature: str, where: str) -> dict:
    """The row of (dataset, feature) as a dict; NeuronStudyError naming ``where`` if absent."""
    rows = table.filter((pl.col("dataset") == dataset) & (pl.col("feature") == feature))
    if rows.height == 0:
        known = table.filter(pl.col("dataset") == dataset)["feature"].to_list()
        raise NeuronStudyError(
            f"{where}: no neuron for feature '{feature}' of dataset '{dataset}' "
            f"(the table has {known or 'no feature of that dataset'})"
        )
    return rows.row(0, named=True)
