"""The summary tables as pages a person reads in the report: sortable, filterable HTML tables.

Each Parquet table of docs/schemas.md ("Summaries") is also written as one self-contained HTML
page (itables, i.e. DataTables, its scripts and styles embedded: no network), which the report
shows in place of a download. A page is a *view* of its table: the key columns first, floats
rounded to 3 decimals for reading, and for the probes table without the per-neuron search rows
(tables 3 and 4 summarise those). The Parquet file, linked under *downloads* in the report,
stays the record; every number in a page is a value of it.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sparseprobe.errors import ReportError

#: decimals a page shows of a float column (the Parquet keeps full precision)
DECIMALS = 3
#: list cells (a probe's neurons, its coefficients) show at most this many items
LIST_ITEMS = 8


@dataclass(frozen=True)
class TableView:
    """How one kind of summary table is shown: its title, the columns it leads with (the rest
    follow in the table's order unless ``only_key``), and the rows a page leaves to the
    Parquet (``exclude``: column -> values)."""

    title: str
    key_columns: tuple[str, ...]
    only_key: bool = False
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)


_METRICS = ("f1", "r2", "mcc", "precision", "recall", "roc_auc")
VIEWS: dict[str, TableView] = {
    "probes": TableView(
        "Table 1: every probe (k-sparse and dense; single-neuron search rows in tables 3, 4)",
        ("dataset", "feature", "category", "layer", "relative_depth", "method", "k", *_METRICS,
         "f1_ci_low", "f1_ci_high", "n_test", "n_test_positive", "neurons"),
        only_key=True, exclude={"method": ("single_neuron",)}),
    "best_layers": TableView(
        "Table 2: best layers",
        ("dataset", "feature", "category", "method", "k", "best_layer", "relative_depth",
         *_METRICS)),
    "neurons": TableView(
        "Table 3: the best single neuron of every binary feature",
        ("dataset", "feature", "category", "layer", "neuron", "f1", "mcc", "precision",
         "recall", "coef")),
    "neurons_above_threshold": TableView(
        "Table 4: every single-neuron probe above the F1 threshold",
        ("dataset", "feature", "category", "layer", "neuron", "f1", "mcc", "precision",
         "recall", "coef")),
    "scaling": TableView(
        "Table 5: scaling (best-layer F1 per model and feature)",
        ("model", "n_parameters", "dataset", "feature", "f1_single", "f1_k1", "f1_dense",
         "gap", "k_90", "k_95")),
    "models": TableView(
        "Table 6: per-model means",
        ("model", "n_parameters", "category", "n_features", "mean_f1_single", "mean_f1_k1",
         "mean_f1_dense", "mean_gap", "median_k_90", "n_single_f1_ge_0_9")),
    "dynamics": TableView("Table 7: scaling dynamics",
                          ("dataset", "feature", "dynamic", "emerges_at")),
    "training": TableView("Across training: best-layer F1 per checkpoint",
                          ("base_model", "checkpoint", "step", "dataset", "feature")),
}


def view_of(path: str | Path) -> TableView:
    """The view of a summary table from its file name (``probes.parquet``,
    ``ladder__models.parquet``, ``training/ladder.parquet`` ...)."""
    path = Path(path)
    name = path.stem.split("__")[-1] if "__" in path.stem else path.stem
    if path.parent.name == "training":
        name = "training"
    elif path.parent.name == "scaling" and "__" not in path.stem:
        name = "scaling"
    if name not in VIEWS:
        raise ReportError(f"{path}: no table view for {name!r}; known: {sorted(VIEWS)}")
    return VIEWS[name]


def readable(table: pl.DataFrame, view: TableView) -> pl.DataFrame:
    """The rows and columns a page shows: ``view``'s rows, key columns first, floats rounded,
    lists shortened to their first :data:`LIST_ITEMS` items."""
    for column, values in view.exclude.items():
        if column in table.columns:
            table = table.filter(~pl.col(column).is_in(list(values)))
    key = [col for col in view.key_columns if col in table.columns]
    rest = [] if view.only_key else [col for col in table.columns if col not in key]
    table = table.select(*key, *rest)
    exprs = []
    for name, dtype in table.schema.items():
        if dtype.is_float():
            exprs.append(pl.col(name).round(DECIMALS))
        elif isinstance(dtype, (pl.List, pl.Array)):
            exprs.append(_short_list(name))
    return table.with_columns(exprs) if exprs else table


def _short_list(name: str) -> pl.Expr:
    items = pl.col(name).list.head(LIST_ITEMS).cast(pl.List(pl.String)).list.join(", ")
    more = pl.col(name).list.len() > LIST_ITEMS
    return pl.when(more).then(items + ", ...").otherwise(items).alias(name)


def table_page(table: pl.DataFrame, title: str, source: str) -> str:
    """A self-contained HTML page showing ``table`` as a sortable, filterable DataTable (search
    box, a filter per column, 25 rows a page), its scripts embedded (no network)."""
    import itables

    widget = itables.to_html_datatable(
        table, connected=False, maxBytes=0, showIndex=False, scrollX=True, pageLength=25,
        lengthMenu=[10, 25, 100, 1000], column_filters="header", classes="display compact",
        display_logo_when_loading=False, warn_on_unexpected_types=False)
    intro = (f"{table.height} rows, {table.width} columns; the full table (every row and "
             f"column, full precision) is <code>{html.escape(source)}</code>, linked under "
             "<em>downloads</em>. Click a header to sort; type in the box under it to filter.")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;font-size:13px;margin:12px}"
        "h1{font-size:16px;margin:0 0 4px}p{margin:0 0 10px;color:#444}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{intro}</p>\n"
        f"{_datatables_bundle()}\n{widget}\n</body></html>\n")


def _datatables_bundle() -> str:
    """itables' DataTables bundle (script and styles) inline, as itables' offline mode loads it
    (a module imported from a Blob) but as a JSON string rather than base64: a third smaller."""
    import itables
    from itables.javascript import _itables_ready_event, _itables_underscore_version

    bundle = Path(itables.__file__).parent / "html" / "dt_bundle.js"
    script = json.dumps(bundle.read_text(encoding="utf-8")).replace("<", "\\u003c")
    css = bundle.with_suffix(".css").read_text(encoding="utf-8").replace("</", "<\\/")
    name = _itables_underscore_version()
    return (
        f"<style>{css}</style>\n<script>\nconst itablesSource = {script};\n"
        f"window.{name} = import(URL.createObjectURL(new Blob([itablesSource], "
        "{type: 'application/javascript'})));\n"
        f"window.{name}.then(() => window.dispatchEvent(new Event('{_itables_ready_event()}')));"
        "\n</script>")


def write_table_page(parquet: str | Path, out: str | Path, title: str | None = None) -> None:
    """The HTML page (:func:`table_page`) of one summary table, written to ``out``."""
    parquet = Path(parquet)
    view = view_of(parquet)
    table = readable(pl.read_parquet(parquet), view)
    heading = f"{view.title}: {title}" if title else view.title
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(table_page(table, heading, str(parquet)), encoding="utf-8")


def write_table_pages(inputs, outputs, title: str) -> None:
    """The page of every input table ``name`` that has an output ``{name}_page`` (a rule's
    named input and output files, as Snakemake passes them to a script)."""
    for name, parquet in inputs.items():
        page = outputs.get(f"{name}_page")
        if page is not None:
            write_table_page(parquet, page, title)
