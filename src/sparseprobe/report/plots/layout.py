"""What every figure of the report shares: style, palette, panel grids and saving.

Figures are sized for the report's content width (about 1000 px on a 1400 px window) and a
printed page: at most three panel columns, so the widest grid is about 11 inches and its 8 pt
tick labels show at about 10 px in the report (tests/test_report.py measures it in Chromium);
more features make more rows, not smaller text. Every panel carries its own tick labels, titles are
wrapped to the figure's width, and every text stays inside the canvas (tests/test_plots.py checks
each figure type).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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

STYLE = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "standard",
    "svg.fonttype": "none",
}
DPI = 130
MAX_COLUMNS = 3
"""Panel columns of the widest grid (see the module docstring)."""
SERIES_COLORS = {"single": "#009E73", "k1": "#D55E00", "k": "#0072B2", "dense": "#000000",
                 "trivial": "#999999", "shuffled": "#666666"}
#: the two controls every F1 is drawn beside: (label, colour, line style, marker)
CONTROL_STYLE = {
    "trivial": ("always positive: 2p/(1+p)", SERIES_COLORS["trivial"], "-.", ""),
    "shuffled": ("dense probe on shuffled labels", SERIES_COLORS["shuffled"], ":", "x"),
}


def control_handles(kinds: dict[str, str]) -> list:
    """Legend entries (lines, no markers: the controls drawn as horizontal lines) of the
    controls in ``kinds``, control -> a suffix for its label (keys of :data:`CONTROL_STYLE`)."""
    return [plt.Line2D([], [], color=color, ls=ls, lw=1.2, label=label + suffix)
            for (label, color, ls, _), suffix in
            ((CONTROL_STYLE[kind], suffix) for kind, suffix in kinds.items())]

#: Okabe & Ito's colour-blind-safe palette (black last), extended by three of Paul Tol's
#: colours of distinct hue and lightness to name 11 categories; each category also gets its own
#: marker (:data:`CATEGORY_MARKERS`), so lines stay apart in grey print and for every colour vision.
CATEGORY_PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7",
                    "#000000", "#882255", "#999933", "#888888", "#F0E442")
CATEGORY_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "h", "*")


def category_style(index: int) -> dict:
    """Colour, marker and line style of the ``index``-th category (cycling after 11)."""
    n = len(CATEGORY_PALETTE)
    return {"color": CATEGORY_PALETTE[index % n], "marker": CATEGORY_MARKERS[index % n],
            "ls": "-" if index < n else "--"}


def require_columns(table: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise :class:`ReportError` naming ``name`` and every column of ``columns`` it lacks."""
    missing = [col for col in columns if col not in table.columns]
    if missing:
        raise ReportError(f"{name}: missing column(s) {missing}; a figure needs {list(columns)}")


def select(table: pl.DataFrame, name: str, **equal: object) -> pl.DataFrame:
    """The rows of ``table`` whose columns equal ``equal``; an error naming them when none."""
    rows = table.filter(*(pl.col(col) == value for col, value in equal.items()))
    if rows.height == 0:
        wanted = ", ".join(f"{col}={value!r}" for col, value in equal.items())
        raise ReportError(f"{name}: no rows with {wanted}")
    return rows


def one(table: pl.DataFrame, column: str, name: str) -> object:
    values = table[column].unique().to_list()
    if len(values) != 1:
        raise ReportError(f"{name}: expected one {column}, found {sorted(map(str, values))}")
    return values[0]


def _natural_key(name: str) -> tuple:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", name) if part)


def features_of(rows: pl.DataFrame) -> list[tuple[str, str]]:
    """The (feature, task) pairs of ``rows`` in the table's order, or in numeric order when
    several features carry numbers (position bins: 0-7, 8-15, ..., not 0-7, 16-23, ..., 8-15)."""
    features = rows.select("feature", "task").unique(maintain_order=True).rows()
    if sum(any(c.isdigit() for c in feature) for feature, _ in features) >= 2:
        features = sorted(features, key=lambda pair: _natural_key(pair[0]))
    return features


def size_label(n_parameters: float) -> str:
    """A parameter count as people write it: 134k, 1.8M, 6.9B."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n_parameters >= scale:
            value = n_parameters / scale
            return f"{value:.2g}{suffix}" if value < 10 else f"{value:.0f}{suffix}"
    return f"{n_parameters:.0f}"


@contextmanager
def style() -> Iterator[None]:
    with plt.rc_context(STYLE):
        yield


def columns_for(n_panels: int) -> int:
    """Panel columns of a grid: one row up to 3 panels, then 2 columns for 4 (a square), else
    3 (:data:`MAX_COLUMNS`)."""
    if n_panels <= MAX_COLUMNS:
        return max(1, n_panels)
    return 2 if n_panels == 4 else MAX_COLUMNS


def wrap(text: str, width_in: float, fontsize: float) -> str:
    """``text`` wrapped to lines that fit ``width_in`` inches at ``fontsize`` points (a
    character is taken as 0.55 em wide, which holds for DejaVu Sans' lower case)."""
    chars = max(20, int(width_in * 72 / (fontsize * 0.55)))
    return "\n".join(textwrap.wrap(text, chars))


class Grid:
    """A grid of panels with fixed margins, in inches: Matplotlib's constrained layout costs
    about 0.1 s per panel, more than drawing them. Room is made for a wrapped suptitle, an
    optional colour bar on the right and an optional legend below."""

    left, gap_w, gap_h, panel_title = 0.7, 0.55, 0.75, 0.3

    def __init__(self, n_panels: int, title: str, panel_w: float = 2.6, panel_h: float = 2.2,
                 colorbar: bool = False, legend: Sequence = (), **kwargs):
        self.cols = columns_for(n_panels)
        self.rows = math.ceil(n_panels / self.cols)
        self.n_panels = n_panels
        right = 1.25 if colorbar else 0.25
        width = self.left + self.cols * panel_w + (self.cols - 1) * self.gap_w + right
        title = wrap(title, width - 0.3, STYLE["figure.titlesize"])
        top = 0.2 + 0.22 * (title.count("\n") + 1) + self.panel_title
        legend_cols = max(1, min(len(legend), int((width - 0.4) // 2.3))) if legend else 1
        bottom = 0.75 + (0.15 + 0.22 * math.ceil(len(legend) / legend_cols) if legend else 0)
        height = top + self.rows * panel_h + (self.rows - 1) * self.gap_h + bottom
        self.fig, self.axes = plt.subplots(self.rows, self.cols, figsize=(width, height),
                                           squeeze=False, **kwargs)
        self.fig.subplots_adjust(
            left=self.left / width, right=1 - right / width, bottom=bottom / height,
            top=1 - top / height, wspace=self.gap_w / panel_w, hspace=self.gap_h / panel_h)
        self.fig.suptitle(title, y=1 - 0.12 / height, va="top")
        for ax in self.axes.flat[n_panels:]:
            ax.set_visible(False)
        self._size = (width, height, right, top, bottom)
        if legend:
            self.fig.legend(handles=list(legend), loc="lower center",
                            bbox_to_anchor=(0.5, 0.05 / height), ncols=legend_cols,
                            frameon=False)

    @property
    def panels(self):
        return list(self.axes.flat[: self.n_panels])

    def label(self, xlabel: str, ylabel: str) -> None:
        """Tick labels on every panel; the x label under the lowest panel of each column, the
        y label left of each row's first panel."""
        for ax in self.panels:
            ax.tick_params(labelbottom=True, labelleft=True)
        for col in range(self.cols):
            lowest = max(row for row in range(self.rows) if row * self.cols + col < self.n_panels)
            self.axes[lowest, col].set_xlabel(xlabel)
        for row in range(self.rows):
            self.axes[row, 0].set_ylabel(ylabel)

    def colorbar(self, mappable, label: str, ticks=None):
        """A colour bar in the right margin, as tall as the panels (at most 4 inches)."""
        width, height, right, top, bottom = self._size
        panels_h = height - top - bottom
        bar_h = min(panels_h, 4.0)
        ax = self.fig.add_axes([1 - (right - 0.15) / width,
                                (bottom + (panels_h - bar_h) / 2) / height,
                                0.15 / width, bar_h / height])
        bar = self.fig.colorbar(mappable, cax=ax, ticks=ticks)
        bar.set_label(label)
        return bar


def save(fig, out: str | Path, svg: str | Path | None = None) -> None:
    """Write PNG (and SVG) at the figure's own size (no tight bounding box: layouts are sized
    to hold their text, which the tests check)."""
    for path in (out, svg):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=DPI)
    plt.close(fig)


def log2_k_axis(ax) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(LogLocator(base=4))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def size_axis(ax, sizes: Sequence[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(sizes), [size_label(s) for s in sizes], rotation=45, ha="right")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", which="minor", bottom=False)
    ax.set_xlim(min(sizes) / 1.25, max(sizes) * 1.25)


def feature_title(feature: str, task: str, extra: str = "", width: int = 30) -> str:
    """A panel title: the feature (R^2 marked for regression targets), wrapped at ``width``."""
    title = feature if task == "classification" else f"{feature} (R$^2$)"
    title = f"{title} {extra}".strip()
    return "\n".join(textwrap.wrap(title, width, break_on_hyphens=False)) or title


def metric_label(tasks) -> str:
    """The y label of panels of binary features and, if any, regression targets."""
    return "test F1 (R$^2$ if marked)" if "regression" in set(tasks) else "test F1"


def metric_ylim(ax, task: str) -> None:
    if task == "classification":
        ax.set_ylim(-0.02, 1.04)
    else:
        bottom, _ = ax.get_ylim()
        ax.set_ylim(max(bottom, -0.5), 1.04)


def depth_colors(n_layers: int):
    """A sequential colour per layer (deep = dark) and the mappable for its colorbar."""
    # viridis without its palest yellow, which a thin line on white does not show
    cmap = mcolors.ListedColormap(plt.get_cmap("viridis_r")(np.linspace(0.12, 1.0, 256)))
    norm = mcolors.BoundaryNorm(np.arange(n_layers + 1) - 0.5, cmap.N)
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    return [mappable.to_rgba(layer) for layer in range(n_layers)], mappable


def layer_ticks(n_layers: int) -> list[int]:
    """At most 12 labelled layers (every layer up to 12, else every n-th)."""
    return list(range(0, n_layers, math.ceil(n_layers / 12)))
