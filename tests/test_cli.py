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
        # a validation F1 beside every test F1 (candidates are admitted on it)
        to_frame(rows).with_columns(val_f1=pl.col("f1")).write_parquet(probe_file)
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
    code, out, _ = run(capsys, "neurons", "--model", "large", "--best", "--results",
                       str(results))
    assert code == 0
    assert "| feature" in out and "(2 rows)" in out
    line = next(line for line in out.splitlines() if "| f " in line)
    assert "0.950" in line and "single_neuron" in line
    code, out, _ = run(capsys, "neurons", "--model", "large", "--best", "--feature", "g",
                       "--results", str(results), "--format", "csv")
    table = pl.read_csv(io.StringIO(out))
    assert table.select("feature", "layer", "f1").rows() == [("g", 0, 0.5)]
    code, out, _ = run(capsys, "neurons", "--model", "large", "--min-f1", "0.55",
                       "--results", str(results), "--format", "json")
    rows = json.loads(out)
    assert [(r["rank"], r["feature"], r["layer"], r["neuron"]) for r in rows] == [
        (1, "f", 1, 3), (2, "f", 0, 0)]
    assert rows[1]["other_feature"] == "g" and rows[1]["other_val_f1"] == 0.5
    assert rows[0]["n_neurons"] == 2 and rows[0]["specificity"] == pytest.approx(0.95 / 2)


def test_neurons_is_a_candidate_list_ranked_by_specificity(results, capsys):
    """large: f's neuron L1/N3 (single-neuron search, F1 0.95) and the top-1 mean-diff neuron
    N0 of both layers (f 0.6 / 0.5, g 0.5 / 0.4); g's searched neuron L0/N4 (0.5)."""
    code, out, _ = run(capsys, "neurons", "--model", "large", "--min-f1", "0.45",
                       "--per-feature", "0", "--results", str(results), "--format", "json")
    rows = json.loads(out)
    # one row per neuron: N0 of layer 0 reaches the threshold for f and g, and is listed once,
    # for f (its best), with g as the other feature
    assert [(r["feature"], r["layer"], r["neuron"]) for r in rows] == [
        ("f", 1, 3), ("g", 0, 4), ("f", 0, 0), ("f", 1, 0)]
    by_neuron = {(r["layer"], r["neuron"]): r for r in rows}
    assert by_neuron[(1, 3)]["other_val_f1"] is None and by_neuron[(1, 3)]["margin"] == 0.95
    assert by_neuron[(0, 0)]["margin"] == pytest.approx(0.1)
    # three neurons reach 0.45 for f, two for g (N4 and N0): a feature many neurons separate
    # ranks its neurons lower
    assert [r["n_neurons"] for r in rows] == [3, 2, 3, 3]
    assert by_neuron[(0, 4)]["specificity"] == pytest.approx(0.5 / 2)
    code, out, _ = run(capsys, "neurons", "--model", "large", "--min-f1", "0.45",
                       "--per-feature", "1", "--results", str(results), "--format", "json")
    assert [(r["rank"], r["feature"]) for r in json.loads(out)] == [(1, "f"), (2, "g")]
    code, out, _ = run(capsys, "neurons", "--model", "large", "--results", str(results))
    assert code == 0 and "specificity" in out and "context_page" in out and "(1 rows)" in out


def test_candidates_link_the_context_page_and_rank_on_the_named_metric(results):
    from sparseprobe.summaries import neurons as N

    probes = S.read_probe_summaries([results / "summaries/models/large/probes.parquet"])
    pages = pl.DataFrame({"dataset": ["d"], "feature": ["f"], "layer": [1], "neuron": [3],
                          "context_page": ["contexts/01__d__f__L1__N3.html"]})
    table = N.candidate_neurons(probes, 0.9, context_pages=pages)
    assert table.select("neuron", "context_page").rows() == [
        (3, "contexts/01__d__f__L1__N3.html")]
    # the ranking column is a constant: another metric column ranks (and is named) instead
    assert table["test_f1"].to_list() == [0.95]  # the reported number, beside the ranking one
    assert N.RANK_METRIC == "val_f1"  # candidates are chosen on held-out data, not the test split
    assert N.candidate_neurons(probes, 0.9, metric="f1").height == 1
    with pytest.raises(N.NeuronStudyError, match="ranking column 'auc'"):
        N.candidate_neurons(probes, 0.9, metric="auc")
    # a neuron with no validation score is never a candidate, however high its test F1
    unscored = probes.with_columns(val_f1=pl.lit(None, dtype=pl.Float64))
    assert N.candidate_neurons(unscored, 0.9).height == 0


def test_counts_print_as_integers_and_every_option_has_help(results, capsys):
    from sparseprobe.cli import build_parser

    code, out, _ = run(capsys, "summary", "--family", "fam", "--results", str(results))
    assert code == 0
    header = [c.strip() for c in out.splitlines()[0].split("|")]
    line = [c.strip() for c in out.splitlines()[2].split("|")]
    median = line[header.index("median_k_90")]
    assert "." not in median and median.isdigit(), median
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, command in commands.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"sparseprobe {name} {action.option_strings or action.dest}"


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
