"""Per-model figures (one model, one dataset; Table 1, ``probes.parquet``): test F1 against k
per layer, and F1 over features x layers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from sparseprobe.report.plots import layout
from sparseprobe.report.plots.layout import METRIC, SPARSE_METHOD

PROBE_COLUMNS = ["model", "n_layers", "d_mlp", "dataset", "layer", "feature", "task", "method",
                 "k", "f1", "r2"]
#: optional: the test split's size and positives, for the always-positive F1 a panel draws
CONTROL_COLUMNS = ["n_test", "n_test_positive"]


def sparsity_by_layer(probes: pl.DataFrame, dataset: str, out: str | Path,
                      svg: str | Path | None = None) -> None:
    """One model, one dataset: a panel per feature, test F1 of the top-k ``mean_diff`` probe
    against k (log axis), one line per layer coloured by depth, the layer's dense probe dashed,
    beside the controls of binary features: the always-positive F1 (2p/(1+p), where the table
    has ``n_test_positive``) and the best layer's ``shuffled_dense`` F1 (where the run has the
    control). Regression targets show the ``correlation`` ranking's R^2. Reads Table 1
    (probes.parquet)."""
    layout.require_columns(probes, PROBE_COLUMNS, "probes table")
    rows = layout.select(probes, "probes table", dataset=dataset)
    model = layout.one(rows, "model", "probes table")
    n_layers = int(layout.one(rows, "n_layers", "probes table"))
    features = layout.features_of(rows)
    colors, mappable = layout.depth_colors(n_layers)
    controls = {kind: suffix for kind, suffix, present in (
        ("trivial", "", set(CONTROL_COLUMNS) <= set(rows.columns)),
        ("shuffled", " (its best layer)", (rows["method"] == "shuffled_dense").any()))
        if present}
    with layout.style():
        grid = layout.Grid(len(features), f"{model} / {dataset}: top-k mean-difference probes "
                           "by layer (solid: k-sparse; dashed: dense probe of the same layer)",
                           colorbar=True, sharex=True, legend=layout.control_handles(controls))
        for ax, (feature, task) in zip(grid.panels, features):
            sub = rows.filter(pl.col("feature") == feature)
            metric = METRIC[task]
            sparse = (sub.filter(pl.col("method") == SPARSE_METHOD[task])
                      .unique(["layer", "k"], keep="first", maintain_order=True).sort("layer", "k"))
            dense = sub.filter(pl.col("method") == "dense")
            for layer in range(n_layers):
                line = sparse.filter(pl.col("layer") == layer)
                ax.plot(line["k"], line[metric], color=colors[layer], lw=1.4, marker="o", ms=2.2)
                for value in dense.filter(pl.col("layer") == layer)[metric]:
                    ax.axhline(value, color=colors[layer], ls="--", lw=1.0, alpha=0.8)
            if task == "classification":
                _controls(ax, sub)
            layout.log2_k_axis(ax)
            layout.metric_ylim(ax, task)
            ax.set_title(layout.feature_title(feature, task))
            ax.grid(alpha=0.25)
        grid.label("k (neurons)", layout.metric_label(task for _, task in features))
        grid.colorbar(mappable, "layer (dark = deep)", ticks=layout.layer_ticks(n_layers))
        layout.save(grid.fig, out, svg)


def _controls(ax, sub: pl.DataFrame) -> None:
    """The always-positive F1 and the best layer's shuffled-label dense F1 of one binary
    feature, as horizontal grey lines (:data:`~sparseprobe.report.plots.layout.CONTROL_STYLE`)."""
    values = {}
    if set(CONTROL_COLUMNS) <= set(sub.columns):
        counts = sub.select(CONTROL_COLUMNS).drop_nulls()
        if counts.height and counts["n_test"][0] > 0:
            p = counts["n_test_positive"][0] / counts["n_test"][0]
            values["trivial"] = 2 * p / (1 + p)
    shuffled = sub.filter(pl.col("method") == "shuffled_dense")["f1"].drop_nulls()
    if len(shuffled):
        values["shuffled"] = shuffled.max()
    for kind, value in values.items():
        _, color, style, _ = layout.CONTROL_STYLE[kind]
        ax.axhline(value, color=color, ls=style, lw=1.2, zorder=0.5)


def f1_heatmap(probes: pl.DataFrame, dataset: str, out: str | Path, k_values: Sequence[int],
               svg: str | Path | None = None, annotate_max_layers: int = 12) -> None:
    """One model, one dataset: test F1 of the top-k probe of every feature (rows) at every layer
    (columns), one heat map per k in ``k_values`` (capped at d_mlp, as the probe grid is), one
    for the dense probe and, where the run has the control, one for the dense probe on shuffled
    labels (what a probe scores when there is nothing to read). Reads Table 1. Regression
    targets show R^2 (row label marked)."""
    layout.require_columns(probes, PROBE_COLUMNS, "probes table")
    rows = layout.select(probes, "probes table", dataset=dataset)
    model = layout.one(rows, "model", "probes table")
    n_layers = int(layout.one(rows, "n_layers", "probes table"))
    d_mlp = int(layout.one(rows, "d_mlp", "probes table"))
    features = layout.features_of(rows)
    panels = [(f"k = {k}" + (f"\n(capped at {d_mlp})" if k > d_mlp else ""), "sparse",
               min(k, d_mlp)) for k in k_values] + [(f"dense\n({d_mlp} neurons)", "dense", None)]
    if (rows["method"] == "shuffled_dense").any():
        panels.append(("dense, shuffled\nlabels (control)", "shuffled_dense", None))
    grids = [_heat_grid(rows, features, n_layers, method, k) for _, method, k in panels]
    annotate = n_layers <= annotate_max_layers
    panel_w = 0.3 + min(0.4, 4.0 / n_layers) * n_layers
    labels = [layout.feature_title(f, task, width=28) for f, task in features]
    label_w = 0.2 + 0.065 * max(len(line) for label in labels for line in label.split("\n"))
    width = label_w + len(panels) * (panel_w + 0.15) + 1.1
    title = layout.wrap(f"{model} / {dataset}: top-k mean-difference probe F1 by layer",
                        width - 0.3, layout.STYLE["figure.titlesize"])
    height = 1.35 + 0.22 * title.count("\n") + 0.27 * len(features)
    with layout.style():
        fig, axes = plt.subplots(1, len(panels), figsize=(width, height), sharey=True,
                                 squeeze=False, layout="constrained")
        image = None
        for ax, (name, _, _), values in zip(axes[0], panels, grids):
            image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis", aspect="auto",
                              interpolation="nearest")
            ax.set_title(name)
            ticks = layout.layer_ticks(n_layers)
            ax.set_xticks(ticks, [str(layer) for layer in ticks])
            ax.set_xlabel("layer")
            ax.spines[:].set_visible(False)
            if annotate:
                _annotate(ax, values)
        axes[0, 0].set_yticks(range(len(features)), labels)
        fig.colorbar(image, ax=axes, shrink=0.9, pad=0.02, aspect=25).set_label(
            layout.metric_label(task for _, task in features))
        fig.suptitle(title)
        layout.save(fig, out, svg)


def _heat_grid(rows: pl.DataFrame, features, n_layers: int, method: str, k: int | None
               ) -> np.ndarray:
    """Features x layers of one panel: ``method`` "sparse" (the task's ranking at ``k``),
    "dense" or "shuffled_dense"."""
    grid = np.full((len(features), n_layers), np.nan)
    for i, (feature, task) in enumerate(features):
        name = SPARSE_METHOD[task] if method == "sparse" else method
        cond = (pl.col("feature") == feature) & (pl.col("method") == name)
        if k is not None:
            cond &= pl.col("k") == k
        picked = rows.filter(cond).unique("layer", keep="first")
        for layer, value in picked.select("layer", METRIC[task]).rows():
            grid[i, layer] = np.nan if value is None else value
    return grid


def _annotate(ax, grid: np.ndarray) -> None:
    fontsize = 7 if grid.shape[1] <= 8 else 6
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=fontsize,
                    color="black" if value > 0.6 else "white")
