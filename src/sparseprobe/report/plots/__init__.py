"""Figures of the report, drawn from the summary tables (docs/schemas.md, "Summaries").

Each function takes polars frames with the columns of one summary table, selects rows and draws
them; none computes a statistic of its own, so every number on a figure is a value in a table the
report links. What a figure shows is as strong as its table: best-layer F1s are chosen on the test
split (optimistic descriptions of the sweep, not unbiased estimates), and error bars appear only
where the rows carry bootstrap intervals (``probing.bootstrap`` > 0).

By figure family (one module each; :mod:`.layout` holds what they share):
- :mod:`.model` (one model, one dataset; Table 1): :func:`sparsity_by_layer` (test F1 against
  k per layer) and :func:`f1_heatmap` (F1 over features x layers at a few k).
- :mod:`.family` (one family): :func:`best_layer_depth` (Table 2: the best layer's relative
  depth against model size), :func:`feature_scaling` (Tables 5 and 7: best single-neuron, small-k
  and dense F1 against model size, per feature) and :func:`family_scaling` (Table 6: the family's
  per-category summary statistics against model size).
- :mod:`.training` (checkpoints): :func:`training_dynamics` (F1 across training).

Every figure is written as PNG (the report) and SVG (print, editing) side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from sparseprobe.errors import ReportError
from sparseprobe.report.plots import layout
from sparseprobe.report.plots.family import (
    BEST_COLUMNS,
    BEST_RANGE_COLUMNS,
    DYNAMICS_COLUMNS,
    MODELS_COLUMNS,
    SCALING_COLUMNS,
    basis_comparison,
    best_layer_depth,
    family_scaling,
    feature_scaling,
)
from sparseprobe.report.plots.layout import (
    CATEGORY_PALETTE,
    METRIC,
    SPARSE_METHOD,
    require_columns,
    size_label,
)
from sparseprobe.report.plots.model import (
    CONTROL_COLUMNS,
    PROBE_COLUMNS,
    f1_heatmap,
    sparsity_by_layer,
)
from sparseprobe.report.plots.training import TRAINING_COLUMNS, training_dynamics

__all__ = [
    "BEST_COLUMNS", "BEST_RANGE_COLUMNS", "CATEGORY_PALETTE", "DYNAMICS_COLUMNS", "METRIC", "MODELS_COLUMNS",
    "PROBE_COLUMNS", "SCALING_COLUMNS", "SPARSE_METHOD", "TRAINING_COLUMNS", "basis_comparison", "best_layer_depth",
    "f1_heatmap", "family_scaling", "feature_scaling", "layout", "require_columns",
    "size_label", "sparsity_by_layer", "training_dynamics", "write_all_family_figures",
    "write_all_model_figures", "write_training_figures",
]


def _read(path: str | Path, columns: Sequence[str]) -> pl.DataFrame:
    """A Parquet table a figure reads; an error naming the file if it lacks one of
    ``columns``."""
    schema = pl.read_parquet_schema(path)
    missing = [col for col in columns if col not in schema]
    if missing:
        raise ReportError(f"{path}: missing column(s) {missing}; a figure needs {list(columns)}")
    return pl.read_parquet(path)


def write_all_model_figures(probes_path: str | Path, datasets: Sequence[str], out_dir: str | Path,
                            heatmap_k: Sequence[int]) -> None:
    """Every per-model figure of every dataset from one model's Table 1, as
    ``{out_dir}/sparsity__{dataset}.png`` and ``heatmap__{dataset}.png`` (and ``.svg``): one job
    per model, as each plotting process pays a fixed start-up (about 2 s) whatever it draws. The
    table is read once; each figure selects its dataset's rows."""
    probes = _read(probes_path, PROBE_COLUMNS)
    probes = probes.select(PROBE_COLUMNS + [c for c in CONTROL_COLUMNS if c in probes.columns])
    out = Path(out_dir)
    for dataset in datasets:
        sparsity_by_layer(probes, dataset, out / f"sparsity__{dataset}.png",
                          svg=out / f"sparsity__{dataset}.svg")
        f1_heatmap(probes, dataset, out / f"heatmap__{dataset}.png", heatmap_k,
                   svg=out / f"heatmap__{dataset}.svg")


def _best_rows(path: str | Path) -> pl.DataFrame:
    """One model's Table 2 as the best-layer figure reads it: BEST_COLUMNS, and the layer range
    within the best layer's interval where the table has it (tables of older runs do not)."""
    table = _read(path, BEST_COLUMNS)
    return table.select(BEST_COLUMNS + [c for c in BEST_RANGE_COLUMNS if c in table.columns])


def write_all_family_figures(best_paths: Sequence[str | Path], scaling_path: str | Path,
                             dynamics_path: str | Path, models_path: str | Path,
                             datasets: Sequence[str], out_dir: str | Path,
                             k_values: Sequence[int]) -> None:
    """Every family figure: per dataset the best layer's depth (``best_layer__{dataset}``, from
    the models' Table 2 files) and per-feature scaling (``features__{dataset}``, Tables 5 and
    7), and the family summary (``summary``, Table 6), each as PNG and SVG in ``out_dir``. Each
    table is read once."""
    out_dir = Path(out_dir)
    best = pl.concat([_best_rows(path) for path in best_paths], how="diagonal")
    scaling = _read(scaling_path, SCALING_COLUMNS)
    dynamics = _read(dynamics_path, DYNAMICS_COLUMNS)
    for dataset in datasets:
        best_layer_depth(best, dataset, out_dir / f"best_layer__{dataset}.png", k_values,
                         svg=out_dir / f"best_layer__{dataset}.svg")
        feature_scaling(scaling, dynamics, dataset, out_dir / f"features__{dataset}.png",
                        k_values, svg=out_dir / f"features__{dataset}.svg")
    family_scaling(_read(models_path, MODELS_COLUMNS), out_dir / "summary.png",
                   svg=out_dir / "summary.svg")


def write_training_figures(training_path: str | Path, datasets: Sequence[str],
                           out_dir: str | Path) -> None:
    """The training-dynamics figure of every dataset (``training__{dataset}.png`` and ``.svg``)
    of one family's training table."""
    training = pl.read_parquet(training_path)
    out = Path(out_dir)
    for dataset in datasets:
        training_dynamics(training, dataset, out / f"training__{dataset}.png",
                          svg=out / f"training__{dataset}.svg")
