"""Family figures (models of one family against their size): the best layer's depth (Table 2),
per-feature scaling (Tables 5 and 7) and the family's summary statistics (Table 6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib import colors as mcolors
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sparseprobe.report.plots import layout
from sparseprobe.report.plots.layout import CONTROL_STYLE, METRIC, SERIES_COLORS, SPARSE_METHOD

BEST_COLUMNS = ["model", "n_parameters", "dataset", "feature", "task", "method", "k",
                "relative_depth", "f1", "r2"]
#: optional: the relative depths of the layers within the best layer's interval (drawn as a bar)
BEST_RANGE_COLUMNS = ["relative_depth_low", "relative_depth_high"]


def best_layer_depth(best_layers: pl.DataFrame, dataset: str, out: str | Path,
                     k_values: Sequence[int], svg: str | Path | None = None) -> None:
    """One family, one dataset: per feature, the relative depth ((layer+1)/n_layers) of the
    best layer of the top-k probe (each k of ``k_values``) and of the dense probe against model
    size (log axis); the marker's fill is that layer's test F1. Where the table has
    ``relative_depth_low`` / ``relative_depth_high`` (the layers within the best layer's
    interval, ``layers_within``), a vertical bar spans them: a best layer is that range, and a
    long bar says the depth is not pinned down. Reads Table 2 (best_layers) of every model of
    the family, concatenated. A model's k is capped at its d_mlp."""
    layout.require_columns(best_layers, BEST_COLUMNS, "best-layer table")
    rows = layout.select(best_layers, "best-layer table", dataset=dataset)
    sizes = sorted(rows["n_parameters"].unique().to_list())
    features = layout.features_of(rows)
    series = [(f"k={k}", k, marker) for k, marker in zip(k_values, "os^v")]
    series.append(("dense", None, "D"))
    offsets = np.exp(np.linspace(-0.07, 0.07, len(series))) if len(series) > 1 else [1.0]
    norm = mcolors.Normalize(0, 1)
    handles = [plt.Line2D([], [], marker=m, ls="", color="white", markeredgecolor="black",
                          markersize=6, label=label) for label, _, m in series]
    if set(BEST_RANGE_COLUMNS) <= set(rows.columns):
        handles.append(plt.Line2D([], [], color="0.35", alpha=0.45, lw=1.2,
                                  label="layers within the best one's interval"))
    with layout.style():
        grid = layout.Grid(len(features), f"{dataset}: depth of the best layer against model "
                           "size", colorbar=True, legend=handles, sharex=True, sharey=True)
        ranged = len(handles) > len(series)
        for ax, (feature, task) in zip(grid.panels, features):
            sub = rows.filter(pl.col("feature") == feature)
            bars = []
            for (label, k, marker), offset in zip(series, offsets):
                points = _best_points(sub, task, k)
                x = points["n_parameters"].to_numpy() * offset
                ax.plot(x, points["relative_depth"], color="0.6", lw=0.8, zorder=1)
                ax.scatter(x, points["relative_depth"], c=points[METRIC[task]], cmap="viridis",
                           norm=norm, marker=marker, s=26, edgecolors="black", linewidths=0.5,
                           zorder=2, label=label)
                if ranged:
                    bars.append((x, points["relative_depth_low"].to_numpy(),
                                 points["relative_depth_high"].to_numpy()))
            for x, low, high in bars:  # after the markers: ax.collections[:n] stay the series
                ax.vlines(x, low, high, color="0.35", lw=1.2, alpha=0.45, zorder=1.5)
            layout.size_axis(ax, sizes)
            ax.set_ylim(-0.02, 1.08)
            ax.set_title(layout.feature_title(feature, task))
            ax.grid(alpha=0.25)
        grid.label("parameters", "best layer (relative depth)")
        grid.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"),
                      layout.metric_label(task for _, task in features) + " at the best layer")
        layout.save(grid.fig, out, svg)


def _best_points(sub: pl.DataFrame, task: str, k: int | None) -> pl.DataFrame:
    """Per model, the best-layer row of the top-k probe (k capped at d_mlp: the model's largest
    k up to ``k``) or of the dense probe; sorted by size."""
    if k is None:
        picked = sub.filter(pl.col("method") == "dense")
    else:
        picked = (sub.filter((pl.col("method") == SPARSE_METHOD[task]) & (pl.col("k") <= k))
                  .sort("k", descending=True).unique("model", keep="first"))
    return picked.sort("n_parameters")


SCALING_COLUMNS = ["model", "n_parameters", "dataset", "feature", "task", "f1_dense", "r2_dense",
                   "f1_single", "f1_k1_ci_low", "f1_k1_ci_high", "f1_dense_ci_low",
                   "f1_dense_ci_high"]
DYNAMICS_COLUMNS = ["dataset", "feature", "dynamic"]


def feature_scaling(scaling: pl.DataFrame, dynamics: pl.DataFrame | None, dataset: str,
                    out: str | Path, k_values: Sequence[int],
                    svg: str | Path | None = None) -> None:
    """One family, one dataset: per feature, the best single neuron's F1 (over all layers), the
    best-layer F1 of the top-k mean-difference probe for each k of ``k_values`` and of the dense
    probe against model size, with the rows' bootstrap intervals as error bars where present,
    beside the two controls where the table has them (``f1_trivial``, the always-positive F1,
    and ``f1_shuffled``, the dense probe on shuffled labels: a line near them reads nothing);
    the panel title carries the feature's scaling dynamic (Table 7) when ``dynamics`` is given.
    Reads Table 5 (``{family}.parquet``), which must hold ``f1_k{k}`` for every k."""
    layout.require_columns(scaling, [*SCALING_COLUMNS, *(f"f1_k{k}" for k in k_values)],
                           "scaling table")
    rows = layout.select(scaling, "scaling table", dataset=dataset).sort("n_parameters",
                                                                         maintain_order=True)
    labels: dict[str, str] = {}
    if dynamics is not None:
        layout.require_columns(dynamics, DYNAMICS_COLUMNS, "dynamics table")
        labels = dict(dynamics.filter(pl.col("dataset") == dataset)
                      .select("feature", "dynamic").rows())
    sizes = sorted(rows["n_parameters"].unique().to_list())
    features = layout.features_of(rows)
    handles = [plt.Line2D([], [], color=line.color, marker=line.marker, ls=line.style,
                          label=line.label) for line in _scaling_series("f1", k_values)
               if line.column in rows.columns and not rows[line.column].is_null().all()]
    title = (f"{dataset}: best-layer probe F1 against model size"
             + (" [scaling dynamic]" if labels else ""))
    with layout.style():
        grid = layout.Grid(len(features), title, legend=handles, sharex=True)
        for ax, (feature, task) in zip(grid.panels, features):
            sub = rows.filter(pl.col("feature") == feature)
            for line in _scaling_series(METRIC[task], k_values):
                if line.column not in sub.columns or sub[line.column].is_null().all():
                    continue
                y = sub[line.column].cast(pl.Float64).fill_null(np.nan).to_numpy()
                ax.errorbar(sub["n_parameters"].to_numpy(), y, yerr=_yerr(sub, y, line.interval),
                            color=line.color, marker=line.marker, ms=3.5, lw=1.3, capsize=2,
                            elinewidth=0.8, ls=line.style)
            layout.size_axis(ax, sizes)
            layout.metric_ylim(ax, task)
            dynamic = labels.get(feature)
            ax.set_title(layout.feature_title(feature, task, f"[{dynamic}]" if dynamic else ""))
            ax.grid(alpha=0.25)
        grid.label("parameters", layout.metric_label(task for _, task in features))
        layout.save(grid.fig, out, svg)


@dataclass(frozen=True)
class _Series:
    """One line of :func:`feature_scaling`: its column, interval columns' prefix and look."""

    column: str
    interval: str
    label: str
    color: str
    marker: str
    style: str = "-"


def _scaling_series(metric: str, k_values: Sequence[int]) -> list[_Series]:
    shades = plt.get_cmap("Oranges")(np.linspace(0.85, 0.45, len(k_values)))
    series = [_Series(f"{metric}_k{k}", f"f1_k{k}", f"top-{k} mean-diff probe",
                      mcolors.to_hex(shade), "os^v<>"[i % 6])
              for i, (k, shade) in enumerate(zip(k_values, shades))]
    series.append(_Series(f"{metric}_dense", "f1_dense", "dense probe", SERIES_COLORS["dense"],
                          "D", "--"))
    if metric == "f1":
        series.insert(0, _Series("f1_single", "f1_single", "best single neuron (top-30 search)",
                                 SERIES_COLORS["single"], "*"))
        for kind in ("shuffled", "trivial"):
            label, color, style, marker = CONTROL_STYLE[kind]
            series.append(_Series(f"f1_{kind}", f"f1_{kind}", label, color, marker, style))
    return series


def _yerr(sub: pl.DataFrame, y: np.ndarray, ci: str) -> np.ndarray | None:
    low, high = f"{ci}_ci_low", f"{ci}_ci_high"
    if low not in sub.columns or high not in sub.columns or sub[low].is_null().all():
        return None
    lo = sub[low].cast(pl.Float64).fill_null(np.nan).to_numpy()
    hi = sub[high].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return np.nan_to_num(np.vstack([y - lo, hi - y]), nan=0.0).clip(min=0)


MODELS_COLUMNS = ["model", "family", "n_parameters", "category", "n_features", "mean_f1_k1",
                  "mean_f1_single", "mean_f1_dense", "mean_gap", "median_k_90",
                  "n_single_f1_ge_0_9"]


def family_scaling(models: pl.DataFrame, out: str | Path, svg: str | Path | None = None) -> None:
    """One family: its summary statistics against model size (Table 6, ``{family}__models``).
    (A) over all binary features: mean best single-neuron, top-1 and dense F1, each point
    annotated with the number of features whose best single neuron reaches F1 >= 0.9, beside
    the mean always-positive and shuffled-label F1s where the table has them;
    (B) mean best single-neuron F1, (C) mean gap dense - top-1 F1 and (D) median smallest k
    reaching 90% of the dense F1, one line per category (colour-blind-safe colours, each with
    its own marker)."""
    layout.require_columns(models, MODELS_COLUMNS, "family models table")
    family = layout.one(models, "family", "family models table")
    every = layout.select(models, "family models table", category="all").sort("n_parameters")
    per_category = models.filter(pl.col("category") != "all").sort("category", "n_parameters")
    categories = per_category["category"].unique(maintain_order=True).to_list()
    sizes = sorted(models["n_parameters"].unique().to_list())
    with layout.style():
        fig, axes = plt.subplots(2, 2, figsize=(10.5, 7.8), layout="constrained")
        ax = axes[0, 0]
        for key, column, marker, label in (
                ("single", "mean_f1_single", "*", "best single neuron"),
                ("k1", "mean_f1_k1", "o", "top-1 mean-diff neuron"),
                ("dense", "mean_f1_dense", "D", "dense probe")):
            ax.plot(every["n_parameters"], every[column], color=SERIES_COLORS[key],
                    marker=marker, lw=1.6, label=label, ls="--" if key == "dense" else "-")
        for kind in ("shuffled", "trivial"):
            column = f"mean_f1_{kind}"
            if column in every.columns and not every[column].is_null().all():
                label, color, style, marker = CONTROL_STYLE[kind]
                ax.plot(every["n_parameters"], every[column], color=color, ls=style,
                        marker=marker, lw=1.2, label=label + " (mean)")
        for x, y, k1, n, total in every.select("n_parameters", "mean_f1_single", "mean_f1_k1",
                                               "n_single_f1_ge_0_9", "n_features").rows():
            below = k1 is not None and k1 > y  # the top-1 line above: label under the point
            ax.annotate(f"{n}/{total}", (x, y), textcoords="offset points",
                        xytext=(0, -11 if below else 7), ha="center", va="center" if below
                        else "baseline", fontsize=7.5, color=SERIES_COLORS["single"])
        ax.set_title("(A) all binary features: mean F1\n(labels: features whose best single "
                     "neuron reaches F1 $\\geq$ 0.9)")
        ax.set_ylabel("mean test F1")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, frameon=False)
        for ax, column, title, ylabel in (
                (axes[0, 1], "mean_f1_single", "(B) mean best single-neuron F1",
                 "mean test F1"),
                (axes[1, 0], "mean_gap", "(C) mean gap: dense F1 - top-1 F1", "mean F1 gap"),
                (axes[1, 1], "median_k_90", "(D) median k reaching 90% of dense F1",
                 "median k")):
            for i, category in enumerate(categories):
                line = per_category.filter(pl.col("category") == category)
                ax.plot(line["n_parameters"], line[column], ms=4.5, lw=1.3, label=category,
                        markeredgecolor="black", markeredgewidth=0.3,
                        **layout.category_style(i))
            ax.set_title(title)
            ax.set_ylabel(ylabel)
        axes[1, 1].set_yscale("log", base=2)
        axes[1, 1].yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        fig.legend(*axes[0, 1].get_legend_handles_labels(), loc="outside right center",
                   title="category", frameon=False)
        for ax in axes.flat:
            layout.size_axis(ax, sizes)
            ax.set_xlabel("parameters")
            ax.grid(alpha=0.25)
        fig.suptitle(f"{family} family: sparsity statistics against model size")
        layout.save(fig, out, svg)


BASIS_FIGURE_COLUMNS = ["family", "basis", "model", "n_parameters", "category",
                        "mean_f1_single", "n_single_f1_ge_0_9", "n_features", "mean_f1_k1",
                        "mean_f1_dense"]
BASIS_STYLE = {"mlp": ("MLP neurons", "#0072B2", "o"),
               "resid": ("residual stream", "#D55E00", "s")}


def basis_comparison(table: pl.DataFrame, out: str | Path, svg: str | Path | None = None
                     ) -> None:
    """One family, every basis it was probed in (the basis table,
    :func:`sparseprobe.summaries.bases.basis_table`), over all binary features against model
    size: (A) the mean best single-unit F1 with its bootstrap interval over features, (B) the
    features whose best single unit reaches F1 >= 0.9 (interval likewise), (C) the mean
    best-layer F1 of the top-1 unit (solid) and of the dense probe (dashed). One colour per
    basis."""
    layout.require_columns(table, BASIS_FIGURE_COLUMNS, "basis table")
    family = layout.one(table, "family", "basis table")
    rows = layout.select(table, "basis table", category="all").sort("n_parameters")
    sizes = sorted(rows["n_parameters"].unique().to_list())
    bases = rows["basis"].unique(maintain_order=True).to_list()
    with layout.style():
        fig, axes = plt.subplots(1, 3, figsize=(11.0, 3.9), layout="constrained")
        offsets = np.exp(np.linspace(-0.04, 0.04, len(bases))) if len(bases) > 1 else [1.0]
        for basis, offset in zip(bases, offsets):  # offset: the intervals side by side
            label, color, marker = BASIS_STYLE.get(basis, (basis, "0.4", "^"))
            part = rows.filter(pl.col("basis") == basis)
            x = part["n_parameters"].to_numpy() * offset
            for ax, column in ((axes[0], "mean_f1_single"), (axes[1], "n_single_f1_ge_0_9")):
                y = part[column].cast(pl.Float64).to_numpy()
                ax.errorbar(x, y, yerr=_yerr(part, y, column), color=color, marker=marker,
                            ms=4, lw=1.4, capsize=2, elinewidth=0.8, label=label)
            axes[2].plot(x, part["mean_f1_k1"], color=color, marker=marker, ms=4, lw=1.4,
                         label=f"{label}: top-1 unit")
            axes[2].plot(x, part["mean_f1_dense"], color=color, marker=marker, ms=4, lw=1.2,
                         ls="--", label=f"{label}: dense")
        total = int(rows["n_features"].max())
        for ax, title, ylabel in (
                (axes[0], "(A) mean best single-unit F1", "mean test F1"),
                (axes[1], f"(B) features with a single unit at F1 $\\geq$ 0.9 (of {total})",
                 "features"),
                (axes[2], "(C) best-layer F1: top-1 unit and dense", "mean test F1")):
            layout.size_axis(ax, sizes)
            ax.set_title(title)
            ax.set_ylabel(ylabel)
            ax.set_xlabel("parameters")
            ax.grid(alpha=0.25)
        axes[1].yaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0].legend(loc="lower right")
        axes[2].legend(loc="lower right", fontsize=7)
        fig.suptitle(f"{family} family: MLP neurons and the residual stream as probed bases "
                     "(intervals: bootstrap over features)")
        layout.save(fig, out, svg)
