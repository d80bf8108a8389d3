"""Training figures (checkpoints of one family's swept models): F1 across training."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from sparseprobe.report.plots import layout
from sparseprobe.report.plots.layout import METRIC

TRAINING_COLUMNS = ["model", "base_model", "n_parameters", "step", "dataset", "feature", "task"]


def training_dynamics(training: pl.DataFrame, dataset: str, out: str | Path,
                      svg: str | Path | None = None) -> None:
    """One family, one dataset, across training: per feature, the best-layer F1 of the top-1
    mean-difference probe (solid) and of the dense probe (dashed) against the training step, a
    colour per swept model (by size). Reads the training table
    (``results/summaries/training/{family}.parquet``); regression targets show R^2."""
    layout.require_columns(training, TRAINING_COLUMNS, "training table")
    rows = layout.select(training, "training table", dataset=dataset).sort(
        "n_parameters", "step", maintain_order=True)
    models = rows.select("base_model", "n_parameters").unique().sort("n_parameters")["base_model"]
    colors = dict(zip(models, plt.get_cmap("viridis")(np.linspace(0.1, 0.85, len(models)))))
    features = layout.features_of(rows)
    handles = [plt.Line2D([], [], color=colors[m], label=m) for m in models] + [
        plt.Line2D([], [], color="0.3", ls="-", label="top-1 mean-diff probe"),
        plt.Line2D([], [], color="0.3", ls="--", label="dense probe")]
    with layout.style():
        grid = layout.Grid(len(features), f"{dataset}: best-layer probe F1 across training",
                           legend=handles, sharex=True)
        for ax, (feature, task) in zip(grid.panels, features):
            metric = METRIC[task]
            for model in models:
                sub = rows.filter((pl.col("feature") == feature) & (pl.col("base_model") == model))
                for column, style in ((f"{metric}_k1", "-"), (f"{metric}_dense", "--")):
                    if column in sub.columns:
                        ax.plot(sub["step"], sub[column].cast(pl.Float64).fill_null(np.nan),
                                color=colors[model], ls=style, marker="o", ms=2.5, lw=1.2)
            ax.set_xscale("symlog", linthresh=1.0)
            layout.metric_ylim(ax, task)
            ax.set_title(layout.feature_title(feature, task))
            ax.grid(alpha=0.25)
        grid.label("training step", layout.metric_label(task for _, task in features))
        layout.save(grid.fig, out, svg)
