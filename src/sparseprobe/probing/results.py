"""The one long-format result schema: written by the probe step, read by every aggregation.

One row per (model, dataset, layer, feature, method, k). See docs/schemas.md for the meaning of
every column. ``read_results`` checks a file against this schema, so a reader never guesses.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sparseprobe.errors import ProbeError

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String,
    "family": pl.String,
    "n_parameters": pl.Int64,
    "n_layers": pl.Int32,
    "d_mlp": pl.Int32,
    "dataset": pl.String,
    "hook": pl.String,
    "aggregation": pl.String,
    "layer": pl.Int32,
    "feature": pl.String,
    "task": pl.String,
    "method": pl.String,
    "k": pl.Int32,
    "neurons": pl.List(pl.Int32),
    "coefficients": pl.List(pl.Float32),
    "intercept": pl.Float64,
    "n_train": pl.Int32,
    "n_test": pl.Int32,
    "n_train_positive": pl.Int32,
    "n_test_positive": pl.Int32,
    "n_val": pl.Int32,
    "n_val_positive": pl.Int32,
    "f1": pl.Float64,
    "precision": pl.Float64,
    "recall": pl.Float64,
    "accuracy": pl.Float64,
    "balanced_accuracy": pl.Float64,
    "mcc": pl.Float64,
    "roc_auc": pl.Float64,
    "pr_auc": pl.Float64,
    "f1_ci_low": pl.Float64,
    "f1_ci_high": pl.Float64,
    "solver_objective": pl.Float64,
    "solver_bound": pl.Float64,
    "solver_gap": pl.Float64,
    "r2": pl.Float64,
    "mae": pl.Float64,
    **{f"val_{m}": pl.Float64 for m in ("f1", "precision", "recall", "accuracy",
                                          "balanced_accuracy", "mcc", "roc_auc", "pr_auc",
                                          "r2", "mae")},
    "converged": pl.Boolean,
    "n_iter": pl.Int32,
    "fit_seconds": pl.Float64,
    "seed": pl.Int64,
}

def to_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows (dicts with every schema column) as a frame with exactly the schema's types."""
    missing = [col for col in RESULT_SCHEMA if rows and col not in rows[0]]
    if missing:
        raise ProbeError(f"result rows lack columns {missing}")
    return pl.DataFrame(rows, schema=RESULT_SCHEMA, orient="row")


def write_results(frame: pl.DataFrame, path: Path) -> None:
    """Write a result frame to Parquet (via a temporary name, so a crash leaves no half file)."""
    check_schema(frame, str(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


def check_schema(frame: pl.DataFrame, where: str) -> None:
    """Raise ProbeError naming ``where`` and the column when ``frame`` departs from the schema."""
    for col, dtype in RESULT_SCHEMA.items():
        if col not in frame.columns:
            raise ProbeError(f"{where}: result column '{col}' is missing")
        if frame.schema[col] != dtype:
            raise ProbeError(f"{where}: column '{col}' is {frame.schema[col]}, expected {dtype}")


def read_results(paths: list[Path] | list[str]) -> pl.DataFrame:
    """Concatenate result files, checking each against the schema."""
    frames = []
    for path in paths:
        frame = pl.read_parquet(path)
        check_schema(frame, str(path))
        frames.append(frame.select(list(RESULT_SCHEMA)))
    if not frames:
        raise ProbeError("no result files to read")
    return pl.concat(frames)
