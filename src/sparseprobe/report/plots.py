"""Figures of the report, drawn from the summary tables (docs/schemas.md, "Summaries").

Each function takes polars frames with the columns of one summary table, selects rows and draws
them; none computes a statistic of its own, so every number on a figure is a value in a table the
report links. What a figure shows is as strong as its table: best-layer F1s are chosen on the test
split (optimistic descriptions of the sweep, not unbiased estimates), and error bars appear only
where the rows carry bootstrap intervals (``probing.bootstrap`` > 0).

Figures (one function each):
- :func:`sparsity_by_layer` (one model, one dataset; Table 1): test F1 against k per layer.
- :func:`f1_heatmap` (one model, one dataset; Table 1): F1 over features x layers at a few k.
- :func:`best_layer_depth` (one family, one dataset; Table 2): the best layer's relative depth
  against model size.
- :func:`feature_scaling` (one family, one dataset; Tables 5 and 7): best single-neuron, small-k
  and dense F1 against model size, per feature.
- :func:`family_scaling` (one family; Table 6): the family's per-category summary statistics
  against model size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from sparseprobe.errors import ReportError  # noqa: E402

#: the ranking whose top-k probes the figures show (binary features / regression targets)
SPARSE_METHOD = {"classification": "mean_diff", "regression": "correlation"}
#: the metric a figure reads (binary features / regression targets)
METRIC = {"classification": "f1", "regression": "r2"}
METRIC_LABEL = {"f1": "test F1", "r2": "test R$^2$"}

_STYLE = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.15,
    "svg.fonttype": "none",
}
_DPI = 130
_SERIES_COLORS = {"single": "#1b9e77", "k1": "#d95f02", "k": "#7570b3", "dense": "#222222"}


def require_columns(table: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise :class:`ReportError` naming ``name`` and every column of ``columns`` it lacks."""
    missing = [col for col in columns if col not in table.columns]
    if missing:
        raise ReportError(f"{name}: missing column(s) {missing}; a figure needs {list(columns)}")


def _select(table: pl.DataFrame, name: str, **equal: object) -> pl.DataFrame:
    """The rows of ``table`` whose columns equal ``equal``; an error naming them when none."""
    rows = table.filter(*(pl.col(col) == value for col, value in equal.items()))
    if rows.height == 0:
        wanted = ", ".join(f"{col}={value!r}" for col, value in equal.items())
        raise ReportError(f"{name}: no rows with {wanted}")
    return rows


def size_label(n_parameters: float) -> str:
    """A parameter count as people write it: 134k, 1.8M, 6.9B."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n_parameters >= scale:
            value = n_parameters / scale
            return f"{value:.2g}{suffix}" if value < 10 else f"{value:.0f}{suffix}"
    return f"{n_parameters:.0f}"


@contextmanager
def _style() -> Iterator[None]:
    with plt.rc_context(_STYLE):
        yield


def _grid(n_panels: int, max_cols: int, panel_w: float, panel_h: float, bottom: float = 0.6,
          **kwargs):
    """A grid of panels with fixed margins (in inches). Matplotlib's constrained layout costs
    about 0.1 s per panel, more than drawing them: a 21-panel figure took 4.6 s, now 2.5 s.
    ``bottom``: inches below the panels (more for a figure legend, see :func:`_bottom_legend`)."""
    cols = min(max_cols, max(1, n_panels))
    rows = math.ceil(n_panels / cols)
    left, right, top = 0.75, 1.1, 0.75  # right: room for a colour bar
    width, height = panel_w * cols + left + right, panel_h * rows + bottom + top
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False, **kwargs)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=0.3, hspace=0.55)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def _save(fig, out: str | Path, svg: str | Path | None = None, tight: bool = True) -> None:
    """Write PNG (and SVG). ``tight=False`` for :func:`_grid` figures: their margins are fixed,
    and the tight bounding box costs as much as drawing a many-panel figure."""
    for path in (out, svg):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with plt.rc_context({} if tight else {"savefig.bbox": "standard"}):
                fig.savefig(path, dpi=_DPI)
    plt.close(fig)


def _axis_labels(axes, xlabel: str, ylabel: str) -> None:
    """x labels under the bottom row of a :func:`_grid`, y labels left of its first column."""
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)


LEGEND_BOTTOM = 1.25
"""Inches below a :func:`_grid` whose figure legend sits under the x labels."""


def _bottom_legend(fig, handles) -> None:
    """A one-row legend at the bottom edge of the figure, below the panels' x labels."""
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.01),
               ncols=len(handles), frameon=False)


def _log2_k_axis(ax) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(LogLocator(base=4))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _size_axis(ax, sizes: Sequence[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(sizes), [size_label(s) for s in sizes], rotation=45, ha="right")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", which="minor", bottom=False)
    ax.set_xlim(min(sizes) / 1.25, max(sizes) * 1.25)


def _feature_title(feature: str, task: str, extra: str = "") -> str:
    title = feature if task == "classification" else f"{feature} (R$^2$)"
    return f"{title} {extra}".strip()


def _metric_label(tasks) -> str:
    """The y label of panels of binary features and, if any, regression targets."""
    return "test F1 (R$^2$ if marked)" if "regression" in set(tasks) else "test F1"


def _metric_ylim(ax, task: str) -> None:
    if task == "classification":
        ax.set_ylim(-0.02, 1.04)
    else:
        bottom, _ = ax.get_ylim()
        ax.set_ylim(max(bottom, -0.5), 1.04)


def _depth_colors(n_layers: int):
    """A sequential colour per layer (deep = dark) and the mappable for its colorbar."""
    cmap = plt.get_cmap("viridis_r")
    norm = mcolors.BoundaryNorm(np.arange(n_layers + 1) - 0.5, cmap.N)
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    return [mappable.to_rgba(layer) for layer in range(n_layers)], mappable


def _one(table: pl.DataFrame, column: str, name: str) -> object:
    values = table[column].unique().to_list()
    if len(values) != 1:
        raise ReportError(f"{name}: expected one {column}, found {sorted(map(str, values))}")
    return values[0]


# --- a. sparsity by layer (Table 1) -------------------------------------------------------------

PROBE_COLUMNS = ["model", "n_layers", "d_mlp", "dataset", "layer", "feature", "task", "method",
                 "k", "f1", "r2"]


def sparsity_by_layer(probes: pl.DataFrame, dataset: str, out: str | Path,
                      svg: str | Path | None = None, max_cols: int = 6) -> None:
    """One model, one dataset: a panel per feature, test F1 of the top-k ``mean_diff`` probe
    against k (log axis), one line per layer coloured by depth, the layer's dense probe dashed.
    Regression targets show the ``correlation`` ranking's R^2. Reads Table 1 (probes.parquet)."""
    require_columns(probes, PROBE_COLUMNS, "probes table")
    rows = _select(probes, "probes table", dataset=dataset)
    model = _one(rows, "model", "probes table")
    n_layers = int(_one(rows, "n_layers", "probes table"))
    features = rows.select("feature", "task").unique(maintain_order=True).rows()
    colors, mappable = _depth_colors(n_layers)
    with _style():
        fig, axes = _grid(len(features), max_cols, 2.5, 2.2, sharex=True)
        for ax, (feature, task) in zip(axes.flat, features):
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
            _log2_k_axis(ax)
            _metric_ylim(ax, task)
            ax.set_title(_feature_title(feature, task))
            ax.grid(alpha=0.25)
        _axis_labels(axes, "k (neurons)", _metric_label(task for _, task in features))
        bar = fig.colorbar(mappable, ax=axes, shrink=0.6 if axes.shape[0] > 1 else 0.9,
                           ticks=range(n_layers), pad=0.01)
        bar.set_label("layer (dark = deep)")
        fig.suptitle(f"{model} / {dataset}: top-k mean-difference probes by layer "
                     "(solid: k-sparse; dashed: dense probe of the same layer)")
        _save(fig, out, svg, tight=False)


# --- b. F1 heat map over features x layers (Table 1) --------------------------------------------


def f1_heatmap(probes: pl.DataFrame, dataset: str, out: str | Path, k_values: Sequence[int],
               svg: str | Path | None = None, annotate_max_layers: int = 12) -> None:
    """One model, one dataset: test F1 of the top-k probe of every feature (rows) at every layer
    (columns), one heat map per k in ``k_values`` (capped at d_mlp, as the probe grid is) and one
    for the dense probe. Reads Table 1. Regression targets show R^2 (row label marked)."""
    require_columns(probes, PROBE_COLUMNS, "probes table")
    rows = _select(probes, "probes table", dataset=dataset)
    model = _one(rows, "model", "probes table")
    n_layers = int(_one(rows, "n_layers", "probes table"))
    d_mlp = int(_one(rows, "d_mlp", "probes table"))
    features = rows.select("feature", "task").unique(maintain_order=True).rows()
    panels = [(f"k = {k}" + (f" (capped at {d_mlp})" if k > d_mlp else ""), min(k, d_mlp))
              for k in k_values] + [(f"dense ({d_mlp} neurons)", None)]
    grids = [_heat_grid(rows, features, n_layers, k) for _, k in panels]
    annotate = n_layers <= annotate_max_layers
    width = 1.2 + 0.42 * n_layers
    with _style():
        fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels) + 2.2,
                                                          1.4 + 0.26 * len(features)),
                                 sharey=True, squeeze=False, layout="constrained")
        image = None
        for ax, (title, _), grid in zip(axes[0], panels, grids):
            image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto",
                              interpolation="nearest")
            ax.set_title(title)
            ax.set_xticks(range(n_layers), [str(layer) for layer in range(n_layers)])
            ax.set_xlabel("layer")
            ax.spines[:].set_visible(False)
            if annotate:
                _annotate(ax, grid)
        axes[0, 0].set_yticks(range(len(features)),
                              [_feature_title(f, task) for f, task in features])
        fig.colorbar(image, ax=axes, shrink=0.8, pad=0.01).set_label(
            _metric_label(task for _, task in features))
        fig.suptitle(f"{model} / {dataset}: top-k mean-difference probe F1 by layer")
        _save(fig, out, svg)


def _heat_grid(rows: pl.DataFrame, features, n_layers: int, k: int | None) -> np.ndarray:
    grid = np.full((len(features), n_layers), np.nan)
    for i, (feature, task) in enumerate(features):
        method = SPARSE_METHOD[task] if k is not None else "dense"
        cond = (pl.col("feature") == feature) & (pl.col("method") == method)
        if k is not None:
            cond &= pl.col("k") == k
        picked = rows.filter(cond).unique("layer", keep="first")
        for layer, value in picked.select("layer", METRIC[task]).rows():
            grid[i, layer] = np.nan if value is None else value
    return grid


def _annotate(ax, grid: np.ndarray) -> None:
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6.5,
                    color="black" if value > 0.6 else "white")


# --- c. best layer against model size (Table 2) -------------------------------------------------

BEST_COLUMNS = ["model", "n_parameters", "dataset", "feature", "task", "method", "k",
                "relative_depth", "f1", "r2"]


def best_layer_depth(best_layers: pl.DataFrame, dataset: str, out: str | Path,
                     k_values: Sequence[int], svg: str | Path | None = None,
                     max_cols: int = 6) -> None:
    """One family, one dataset: per feature, the relative depth ((layer+1)/n_layers) of the
    best layer of the top-k probe (each k of ``k_values``) and of the dense probe against model
    size (log axis); the marker's fill is that layer's test F1. Reads Table 2 (best_layers) of
    every model of the family, concatenated. A model's k is capped at its d_mlp."""
    require_columns(best_layers, BEST_COLUMNS, "best-layer table")
    rows = _select(best_layers, "best-layer table", dataset=dataset)
    sizes = sorted(rows["n_parameters"].unique().to_list())
    features = rows.select("feature", "task").unique(maintain_order=True).rows()
    series = [(f"k={k}", k, marker) for k, marker in zip(k_values, "os^v")]
    series.append(("dense", None, "D"))
    offsets = np.exp(np.linspace(-0.07, 0.07, len(series))) if len(series) > 1 else [1.0]
    norm = mcolors.Normalize(0, 1)
    with _style():
        fig, axes = _grid(len(features), max_cols, 2.5, 2.3, bottom=LEGEND_BOTTOM, sharex=True,
                          sharey=True)
        for ax, (feature, task) in zip(axes.flat, features):
            sub = rows.filter(pl.col("feature") == feature)
            for (label, k, marker), offset in zip(series, offsets):
                points = _best_points(sub, task, k)
                x = points["n_parameters"].to_numpy() * offset
                ax.plot(x, points["relative_depth"], color="0.6", lw=0.8, zorder=1)
                ax.scatter(x, points["relative_depth"], c=points[METRIC[task]], cmap="viridis",
                           norm=norm, marker=marker, s=26, edgecolors="black", linewidths=0.5,
                           zorder=2, label=label)
            _size_axis(ax, sizes)
            ax.set_ylim(-0.02, 1.08)
            ax.set_title(_feature_title(feature, task))
            ax.grid(alpha=0.25)
        _axis_labels(axes, "parameters", "best layer (relative depth)")
        handles = [plt.Line2D([], [], marker=m, ls="", color="white", markeredgecolor="black",
                              markersize=6, label=label) for label, _, m in series]
        _bottom_legend(fig, handles)
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=axes, shrink=0.6,
                     pad=0.01).set_label(_metric_label(task for _, task in features) + " at the best layer")
        fig.suptitle(f"{dataset}: depth of the best layer against model size")
        _save(fig, out, svg, tight=False)


def _best_points(sub: pl.DataFrame, task: str, k: int | None) -> pl.DataFrame:
    """Per model, the best-layer row of the top-k probe (k capped at d_mlp: the model's largest
    k up to ``k``) or of the dense probe; sorted by size."""
    if k is None:
        picked = sub.filter(pl.col("method") == "dense")
    else:
        picked = (sub.filter((pl.col("method") == SPARSE_METHOD[task]) & (pl.col("k") <= k))
                  .sort("k", descending=True).unique("model", keep="first"))
    return picked.sort("n_parameters")


# --- d. scaling dynamics (Tables 5, 6, 7) -------------------------------------------------------

SCALING_COLUMNS = ["model", "n_parameters", "dataset", "feature", "task", "f1_dense", "r2_dense",
                   "f1_single", "f1_k1_ci_low", "f1_k1_ci_high", "f1_dense_ci_low",
                   "f1_dense_ci_high"]
DYNAMICS_COLUMNS = ["dataset", "feature", "dynamic"]


def feature_scaling(scaling: pl.DataFrame, dynamics: pl.DataFrame | None, dataset: str,
                    out: str | Path, k_values: Sequence[int], svg: str | Path | None = None,
                    max_cols: int = 6) -> None:
    """One family, one dataset: per feature, the best single neuron's F1 (over all layers), the
    best-layer F1 of the top-k mean-difference probe for each k of ``k_values`` and of the dense
    probe against model size, with the rows' bootstrap intervals as error bars where present; the
    panel title carries the feature's scaling dynamic (Table 7) when ``dynamics`` is given.
    Reads Table 5 (``{family}.parquet``), which must hold ``f1_k{k}`` for every k."""
    require_columns(scaling, [*SCALING_COLUMNS, *(f"f1_k{k}" for k in k_values)],
                    "scaling table")
    rows = _select(scaling, "scaling table", dataset=dataset).sort("n_parameters")
    labels: dict[str, str] = {}
    if dynamics is not None:
        require_columns(dynamics, DYNAMICS_COLUMNS, "dynamics table")
        labels = dict(dynamics.filter(pl.col("dataset") == dataset)
                      .select("feature", "dynamic").rows())
    sizes = sorted(rows["n_parameters"].unique().to_list())
    features = rows.select("feature", "task").unique(maintain_order=True).rows()
    with _style():
        fig, axes = _grid(len(features), max_cols, 2.5, 2.3, bottom=LEGEND_BOTTOM, sharex=True)
        for ax, (feature, task) in zip(axes.flat, features):
            sub = rows.filter(pl.col("feature") == feature)
            for line in _scaling_series(METRIC[task], k_values):
                if line.column not in sub.columns or sub[line.column].is_null().all():
                    continue
                y = sub[line.column].cast(pl.Float64).fill_null(np.nan).to_numpy()
                ax.errorbar(sub["n_parameters"].to_numpy(), y, yerr=_yerr(sub, y, line.interval),
                            color=line.color, marker=line.marker, ms=3.5, lw=1.3, capsize=2,
                            elinewidth=0.8, ls=line.style)
            _size_axis(ax, sizes)
            _metric_ylim(ax, task)
            dynamic = labels.get(feature)
            ax.set_title(_feature_title(feature, task, f"[{dynamic}]" if dynamic else ""))
            ax.grid(alpha=0.25)
        _axis_labels(axes, "parameters", _metric_label(task for _, task in features))
        handles = [plt.Line2D([], [], color=line.color, marker=line.marker, ls=line.style,
                              label=line.label) for line in _scaling_series("f1", k_values)]
        _bottom_legend(fig, handles)
        fig.suptitle(f"{dataset}: best-layer probe F1 against model size"
                     + (" [scaling dynamic]" if labels else ""))
        _save(fig, out, svg, tight=False)


TRAINING_COLUMNS = ["model", "base_model", "n_parameters", "step", "dataset", "feature", "task"]


def training_dynamics(training: pl.DataFrame, dataset: str, out: str | Path,
                      svg: str | Path | None = None, max_cols: int = 6) -> None:
    """One family, one dataset, across training: per feature, the best-layer F1 of the top-1
    mean-difference probe (solid) and of the dense probe (dashed) against the training step, a
    colour per swept model (by size). Reads the training table
    (``results/summaries/training/{family}.parquet``); regression targets show R^2."""
    require_columns(training, TRAINING_COLUMNS, "training table")
    rows = _select(training, "training table", dataset=dataset).sort("n_parameters", "step")
    models = rows.select("base_model", "n_parameters").unique().sort("n_parameters")["base_model"]
    colors = dict(zip(models, plt.get_cmap("viridis")(np.linspace(0.1, 0.85, len(models)))))
    features = rows.select("feature", "task").unique(maintain_order=True).rows()
    with _style():
        fig, axes = _grid(len(features), max_cols, 2.5, 2.3, bottom=LEGEND_BOTTOM, sharex=True)
        for ax, (feature, task) in zip(axes.flat, features):
            metric = METRIC[task]
            for model in models:
                sub = rows.filter((pl.col("feature") == feature) & (pl.col("base_model") == model))
                for column, style in ((f"{metric}_k1", "-"), (f"{metric}_dense", "--")):
                    if column in sub.columns:
                        ax.plot(sub["step"], sub[column].cast(pl.Float64).fill_null(np.nan),
                                color=colors[model], ls=style, marker="o", ms=2.5, lw=1.2)
            ax.set_xscale("symlog", linthresh=1.0)
            _metric_ylim(ax, task)
            ax.set_title(_feature_title(feature, task))
            ax.grid(alpha=0.25)
        _axis_labels(axes, "training step", _metric_label(task for _, task in features))
        handles = [plt.Line2D([], [], color=colors[m], label=m) for m in models] + [
            plt.Line2D([], [], color="0.3", ls="-", label="top-1 mean-diff probe"),
            plt.Line2D([], [], color="0.3", ls="--", label="dense probe")]
        _bottom_legend(fig, handles)
        fig.suptitle(f"{dataset}: best-layer probe F1 across training")
        _save(fig, out, svg, tight=False)


def write_training_figures(training_path: str | Path, datasets: Sequence[str],
                           out_dir: str | Path) -> None:
    """The training-dynamics figure of every dataset (``training__{dataset}.png``) of one
    family's training table."""
    training = pl.read_parquet(training_path)
    for dataset in datasets:
        training_dynamics(training, dataset, Path(out_dir) / f"training__{dataset}.png")


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
    series.append(_Series(f"{metric}_dense", "f1_dense", "dense probe", _SERIES_COLORS["dense"],
                          "D", "--"))
    if metric == "f1":
        series.insert(0, _Series("f1_single", "f1_single", "best single neuron (top-30 search)",
                                 _SERIES_COLORS["single"], "*"))
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
    annotated with the number of features whose best single neuron reaches F1 >= 0.9;
    (B) mean best single-neuron F1, (C) mean gap dense - top-1 F1 and (D) median smallest k
    reaching 90% of the dense F1, one line per category."""
    require_columns(models, MODELS_COLUMNS, "family models table")
    family = _one(models, "family", "family models table")
    every = _select(models, "family models table", category="all").sort("n_parameters")
    per_category = models.filter(pl.col("category") != "all").sort("category", "n_parameters")
    categories = per_category["category"].unique(maintain_order=True).to_list()
    sizes = sorted(models["n_parameters"].unique().to_list())
    cmap = plt.get_cmap("tab10" if len(categories) <= 10 else "tab20")
    with _style():
        fig, axes = plt.subplots(2, 2, figsize=(11, 8), layout="constrained")
        ax = axes[0, 0]
        for key, column, marker, label in (
                ("single", "mean_f1_single", "*", "best single neuron"),
                ("k1", "mean_f1_k1", "o", "top-1 mean-diff neuron"),
                ("dense", "mean_f1_dense", "D", "dense probe")):
            ax.plot(every["n_parameters"], every[column], color=_SERIES_COLORS[key],
                    marker=marker, lw=1.6, label=label, ls="--" if key == "dense" else "-")
        for x, y, n, total in every.select("n_parameters", "mean_f1_single",
                                           "n_single_f1_ge_0_9", "n_features").rows():
            ax.annotate(f"{n}/{total}", (x, y), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=7, color=_SERIES_COLORS["single"])
        ax.set_title("(A) all binary features: mean F1 (labels: single-neuron F1 $\\geq$ 0.9)")
        ax.set_ylabel("mean test F1")
        ax.legend(loc="lower right")
        for ax, column, title, ylabel in (
                (axes[0, 1], "mean_f1_single", "(B) mean best single-neuron F1",
                 "mean test F1"),
                (axes[1, 0], "mean_gap", "(C) mean gap: dense F1 - top-1 F1", "mean F1 gap"),
                (axes[1, 1], "median_k_90", "(D) median k reaching 90% of dense F1",
                 "median k")):
            for i, category in enumerate(categories):
                line = per_category.filter(pl.col("category") == category)
                ax.plot(line["n_parameters"], line[column], color=cmap(i), marker="o", ms=3.5,
                        lw=1.3, label=category)
            ax.set_title(title)
            ax.set_ylabel(ylabel)
        axes[1, 1].set_yscale("log", base=2)
        axes[1, 1].yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        fig.legend(*axes[0, 1].get_legend_handles_labels(), loc="outside right center",
                   title="category", frameon=False)
        for ax in axes.flat:
            _size_axis(ax, sizes)
            ax.set_xlabel("parameters")
            ax.grid(alpha=0.25)
        fig.suptitle(f"{family} family: sparsity statistics against model size")
        _save(fig, out, svg)


# --- entry points of the workflow's scripts (read the tables, draw) -----------------------------


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
    """Every per-model figure (a and b) of every dataset from one model's Table 1, as
    ``{out_dir}/sparsity__{dataset}.png`` and ``heatmap__{dataset}.png``: one job per model,
    as each plotting process pays a fixed start-up (about 2 s) whatever it draws. The table is
    read once; each figure selects its dataset's rows."""
    probes = _read(probes_path, PROBE_COLUMNS).select(PROBE_COLUMNS)
    for dataset in datasets:
        sparsity_by_layer(probes, dataset, Path(out_dir) / f"sparsity__{dataset}.png")
        f1_heatmap(probes, dataset, Path(out_dir) / f"heatmap__{dataset}.png", heatmap_k)


def write_all_family_figures(best_paths: Sequence[str | Path], scaling_path: str | Path,
                             dynamics_path: str | Path, models_path: str | Path,
                             datasets: Sequence[str], out_dir: str | Path,
                             k_values: Sequence[int]) -> None:
    """Every family figure: per dataset c (``best_layer__{dataset}``, from the models' Table 2
    files) and d (``features__{dataset}``, Tables 5 and 7), and the family summary
    (``summary``, Table 6), each as PNG and SVG in ``out_dir``. Each table is read once."""
    out_dir = Path(out_dir)
    best = pl.concat([_read(path, BEST_COLUMNS).select(BEST_COLUMNS) for path in best_paths])
    scaling = _read(scaling_path, SCALING_COLUMNS)
    dynamics = _read(dynamics_path, DYNAMICS_COLUMNS)
    for dataset in datasets:
        best_layer_depth(best, dataset, out_dir / f"best_layer__{dataset}.png", k_values,
                         svg=out_dir / f"best_layer__{dataset}.svg")
        feature_scaling(scaling, dynamics, dataset, out_dir / f"features__{dataset}.png",
                        k_values, svg=out_dir / f"features__{dataset}.svg")
    family_scaling(_read(models_path, MODELS_COLUMNS), out_dir / "summary.png",
                   svg=out_dir / "summary.svg")
