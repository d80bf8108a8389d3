"""The ``sparseprobe`` command on a small results directory written by the summary functions."""

from __future__ import annotations

import io
import re
import json

import polars as pl
import pytest

from sparseprobe import summaries as S
from sparseprobe.cli import main
from sparseprobe.probing.results import to_frame
from test_summaries import row, sweep


@pytest.fixture()
def results(tmp_path):
    """results/ with two models of family fam (probes, neuron and family tables)."""
    out = tmp_path / "results"
    meta = out / "datasets" / "d" / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"name": "d", "category": "cat", "features": ["f", "g"]}))
    for model, (f_single, g_single) in {"small": (0.7, 0.6), "large": (0.95, 0.5)}.items():
        rows = (sweep(model, "f", {1: 0.6, 8: 0.8}, dense=0.85)
                + sweep(model, "g", {1: 0.5, 8: 0.6}, dense=0.7)
                + [row(model, feature="f", layer=1, method="single_neuron", neurons=[3],
                       f1=f_single),
                   row(model, feature="g", layer=0, method="single_neuron", neurons=[4],
                       f1=g_single)])
        probe_file = tmp_path / f"{model}.parquet"
        to_frame(rows).write_parquet(probe_file)
        model_dir = out / "summaries" / "models" / model
        model_dir.mkdir(parents=True)
        S.write_model_summary([probe_file], [meta], model_dir / "probes.parquet",
                              model_dir / "best_layers.parquet")
    scaling = out / "summaries" / "scaling"
    scaling.mkdir()
    S.write_scaling_table([out / f"summaries/models/{m}/probes.parquet" for m in ("small", "large")],
                          scaling / "fam.parquet", [1])
    S.write_family_tables(scaling / "fam.parquet", scaling / "fam__models.parquet",
                          scaling / "fam__dynamics.parquet", S.DynamicsThresholds())
    return out


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_neurons_in_every_format(results, capsys):
    code, out, _ = run(capsys, "neurons", "--model", "large", "--results", str(results))
    assert code == 0
    assert "| feature" in out and "(2 rows)" in out
    line = next(line for line in out.splitlines() if "| f " in line)
    assert "0.950" in line and "single_neuron" in line
    code, out, _ = run(capsys, "neurons", "--model", "large", "--feature", "g",
                       "--results", str(results), "--format", "csv")
    table = pl.read_csv(io.StringIO(out))
    assert table.select("feature", "layer", "f1").rows() == [("g", 0, 0.5)]
    code, out, _ = run(capsys, "neurons", "--model", "small", "--min-f1", "0.6",
                       "--results", str(results), "--format", "json")
    rows = json.loads(out)
    assert [(r["feature"], r["neuron"], r["f1"]) for r in rows] == [
        ("f", 3, 0.7), ("f", 0, 0.6), ("g", 4, 0.6)]


def test_summary_and_categories(results, capsys):
    code, out, _ = run(capsys, "summary", "--family", "fam", "--results", str(results),
                       "--format", "json")
    rows = json.loads(out)
    assert code == 0 and [r["model"] for r in rows] == ["small", "large"]
    assert rows[1]["mean_f1_single"] == pytest.approx((0.95 + 0.5) / 2)  # g: its k=1 rows are 0.5
    code, out, _ = run(capsys, "summary", "--family", "fam", "--category", "cat",
                       "--results", str(results))
    assert code == 0 and "| cat " in out and "| all " not in out


def test_compare_two_models(results, capsys):
    code, out, _ = run(capsys, "compare", "small", "large", "--results", str(results),
                       "--format", "csv")
    table = pl.read_csv(io.StringIO(out))
    f = table.filter(pl.col("feature") == "f").row(0, named=True)
    assert f["f1_single.small"] == 0.7 and f["f1_single.large"] == 0.95
    assert f["f1_single.diff"] == pytest.approx(0.25)
    assert f["f1_dense.diff"] == pytest.approx(0.0)
    code, out, _ = run(capsys, "compare", "small", "large", "--results", str(results))
    assert code == 0 and "f1_k1.diff" in out


@pytest.mark.parametrize(("argv", "listed"), [
    (["neurons", "--model", "nope"], "unknown model 'nope'.*large, small"),
    (["neurons", "--model", "small", "--feature", "h"], "unknown feature 'h'.*f, g"),
    (["neurons", "--model", "small", "--dataset", "e"], "unknown dataset 'e'.*: d"),
    (["summary", "--family", "pythia"], "unknown family 'pythia'.*: fam"),
    (["summary", "--family", "fam", "--category", "x"], "unknown category 'x'.*all, cat"),
    (["compare", "small", "nope"], "unknown model 'nope'"),
])
def test_unknown_names_exit_2_and_list_what_exists(results, capsys, argv, listed):
    code, out, err = run(capsys, *argv, "--results", str(results))
    assert code == 2 and out == ""
    assert re.search(listed, err), err
