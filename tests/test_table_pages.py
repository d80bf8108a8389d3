"""The summary tables as HTML pages (sparseprobe.report.tables): the view's rows and columns,
rounded for reading, and a self-contained page (no network)."""

from __future__ import annotations

import polars as pl
import pytest

from sparseprobe.errors import ReportError
from sparseprobe.report import tables


def probes() -> pl.DataFrame:
    return pl.DataFrame({
        "model": ["m"] * 3, "dataset": ["d"] * 3, "feature": ["fr", "fr", "de"],
        "method": ["mean_diff", "single_neuron", "dense"], "k": [1, 1, 64],
        "layer": [0, 0, 1], "f1": [0.123456, 0.5, 0.987654321],
        "neurons": [[3], [7], list(range(64))], "solver_gap": [0.0, 0.0, 0.1]})


def test_probes_view_keeps_key_columns_and_leaves_single_neuron_rows_out():
    view = tables.readable(probes(), tables.view_of("results/summaries/models/m/probes.parquet"))
    assert view.columns[:6] == ["dataset", "feature", "layer", "method", "k", "f1"]
    assert "solver_gap" not in view.columns  # only the key columns for table 1
    assert view["method"].to_list() == ["mean_diff", "dense"]
    assert view["f1"].to_list() == [0.123, 0.988]
    assert view["neurons"].to_list() == ["3", "0, 1, 2, 3, 4, 5, 6, 7, ..."]


def test_views_are_found_by_file_name():
    assert tables.view_of("x/scaling/ladder.parquet").title.startswith("Table 5")
    assert tables.view_of("x/scaling/ladder__dynamics.parquet").title.startswith("Table 7")
    assert tables.view_of("x/training/ladder.parquet").title.startswith("Across training")
    assert tables.view_of("x/models/m/neurons_above_threshold.parquet").title.startswith(
        "Table 4")
    with pytest.raises(ReportError, match="no table view for 'other'"):
        tables.view_of("x/other.parquet")


def test_page_is_self_contained_with_every_row(tmp_path):
    path = tmp_path / "models" / "m" / "neurons.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame({"dataset": ["d", "d"], "feature": ["fr", "de"], "layer": [0, 1],
                  "neuron": [5, 9], "f1": [0.91, 0.8]}).write_parquet(path)
    tables.write_table_page(path, tmp_path / "neurons.html", "m")
    page = (tmp_path / "neurons.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "Table 3" in page
    assert "2 rows, 5 columns" in page
    # no script or style is loaded from elsewhere: the DataTables bundle is inline
    for remote in ('src="http', "src='http", 'href="http', "from 'http", 'from "http'):
        assert remote not in page, remote
    assert "const itablesSource = " in page
    assert '\\"fr\\"' in page and '\\"de\\"' in page  # the rows, as the table's JSON data
