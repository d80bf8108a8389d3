"""docs/results.md's generator on small hand-made tables: per-category means, the peak layer,
the headline counts, the side-by-side join, the span snippet and the benchmark sums."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sparseprobe.errors import ReportError
from sparseprobe.report.results_doc import (
    Run,
    _snippet,
    benchmark_table,
    category_table,
    headline,
    markdown,
    side_by_side,
)


def write_run(root: Path, model: str) -> Run:
    out = root / "summaries" / "models" / model
    out.mkdir(parents=True)
    rows = []
    for feature, base in (("fr", 0.5), ("de", 0.7)):
        for method, k, f1 in (("single_neuron", 1, base + 0.3), ("mean_diff", 1, base),
                              ("mean_diff", 16, base + 0.1), ("dense", 1536, base + 0.2)):
            rows.append({"category": "natural_language", "dataset": "natural_language",
                         "feature": feature, "task": "classification", "method": method,
                         "k": k, "f1": f1, "n_layers": 6, "d_mlp": 1536})
    pl.DataFrame(rows).write_parquet(out / "best_layers.parquet")
    probes = [{"category": "natural_language", "feature": f, "task": "classification",
               "method": "mean_diff", "k": 16, "layer": layer, "f1": f1}
              for f in ("fr", "de") for layer, f1 in ((0, 0.4), (1, 0.9), (2, 0.6))]
    pl.DataFrame(probes).write_parquet(out / "probes.parquet")
    pl.DataFrame({"dataset": ["natural_language"] * 2, "feature": ["fr", "de"],
                  "task": ["classification"] * 2, "layer": [3, 1], "f1": [0.8, 1.0]}
                 ).write_parquet(out / "neurons.parquet")
    bench = root / "benchmarks" / "extract_activations"
    for name, seconds in ((model, 2.5), ("other", 100.0)):
        (bench / name).mkdir(parents=True)
        (bench / name / "ds.tsv").write_text(f"s\th:m:s\n{seconds}\t0:00:02\n")
    return Run(model, root, "config/test.yaml")


def test_category_table_means_and_peak_layer(tmp_path):
    table = category_table(write_run(tmp_path, "m")).row(0, named=True)
    assert table["features"] == 2
    assert table["single_neuron"] == pytest.approx(0.9)
    assert (table["k1"], table["k16"], table["dense"]) == pytest.approx((0.6, 0.7, 0.8))
    assert table["peak_layer"] == 1


def test_headline_counts_and_languages(tmp_path):
    h = headline(write_run(tmp_path, "m"))
    assert h["n_features"] == 2 and h["n_single_ge_0_9"] == 1
    assert h["mean_single_f1"] == pytest.approx(0.9)
    assert (h["french_layer"], h["german_layer"], h["german_f1"]) == (3, 1, 1.0)


def test_side_by_side_pairs_each_metric(tmp_path):
    a = category_table(write_run(tmp_path / "a", "a"))
    b = category_table(write_run(tmp_path / "b", "b")).with_columns(pl.col("k1") - 0.1)
    joined = side_by_side(a, b, "a", "b")
    assert joined.columns[:5] == ["category", "features a", "features b", "single_neuron a",
                                  "single_neuron b"]
    assert joined["k1 b"][0] == pytest.approx(joined["k1 a"][0] - 0.1)
    assert markdown(joined).splitlines()[1].count("---") == len(joined.columns)


def test_benchmarks_count_only_the_runs_model(tmp_path):
    table = benchmark_table(write_run(tmp_path, "m"))
    assert table.to_dicts() == [{"rule": "extract_activations", "jobs": 1, "seconds": 2.5}]


def test_snippet_marks_and_cuts_the_span():
    text = "x" * 50 + "the word" + " after it all"
    assert _snippet(text, 50, 58) == "x" * 40 + "[[the word]] after it al"
    assert _snippet("a" * 60, 0, 60).endswith("...]]")


def test_a_missing_table_names_the_file_and_config(tmp_path):
    with pytest.raises(ReportError, match=r"best_layers.parquet does not exist.*config/x.yaml"):
        category_table(Run("m", tmp_path, "config/x.yaml"))


def test_optimism_table_chooses_on_test_and_on_validation(tmp_path):
    """Two layers of one feature: test prefers layer 0 (0.9), validation layer 1 (test 0.6);
    the best single neuron likewise. The test-chosen row is the optimistic one."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_summaries import row, to_frame, with_category

    from sparseprobe.report.results_doc import optimism_table

    rows = []
    for layer, test, val in ((0, 0.9, 0.5), (1, 0.6, 0.8)):
        extra = dict(val_f1=val, val_mcc=val, n_val_positive=40)
        rows += [row(layer=layer, f1=test, **extra),
                 row(layer=layer, k=8, f1=test, **extra),
                 row(layer=layer, method="dense", k=8, f1=test + 0.05, **extra),
                 row(layer=layer, method="single_neuron", neurons=[layer], f1=test, **extra)]
    out = tmp_path / "summaries" / "models" / "small"
    out.mkdir(parents=True)
    with_category(to_frame(rows)).write_parquet(out / "probes.parquet")
    table = optimism_table([Run("small", tmp_path, "config/x.yaml")])
    assert table["chosen on"].to_list() == ["test", "validation"]
    from sparseprobe.report.results_doc import _chosen_on

    mixed = pl.DataFrame({"dataset": ["d"] * 3, "feature": ["a", "a", "b"],
                          "selected_on": ["validation", "test", "validation"]})
    assert _chosen_on(mixed, "validation") == "validation (1 of 2 features on test)"
    assert _chosen_on(mixed.with_columns(selected_on=pl.lit("test")), "validation") == \
        "test (no validation split)"
    paper, honest = table.rows(named=True)
    assert paper["mean single-neuron F1"] == pytest.approx(0.9)
    assert honest["mean single-neuron F1"] == pytest.approx(0.6)
    assert (paper["single F1 >= 0.9"], honest["single F1 >= 0.9"]) == (1, 0)
    assert paper["best-layer F1 k=16"] == pytest.approx(0.9)  # k = 16 capped at d_mlp = 8
    assert honest["best-layer F1 dense"] == pytest.approx(0.65)
    assert "| small | validation |" in markdown(table)


def test_results_page_html_escapes_text_and_keeps_tables():
    from sparseprobe.report.results_page import to_html

    page = to_html("# T\n\n| a | b |\n|---|---|\n| <script>x</script> | 1<br>2 |\n", "T & co")
    assert "<title>T &amp; co</title>" in page
    assert "<table>" in page and "<td>1<br>2</td>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_seed_section_says_which_claims_hold_in_every_seed(tmp_path):
    from sparseprobe.report.results_doc import seed_section

    run = write_run(tmp_path, "lad-7")  # neurons: fr L3 F1 0.8, de L1 F1 1.0
    write_run(tmp_path / "elsewhere", "x")
    replicate = tmp_path / "summaries" / "models" / "lad-7-seed1"
    replicate.mkdir(parents=True)
    pl.DataFrame({"dataset": ["natural_language"] * 2, "feature": ["fr", "de"],
                  "task": ["classification"] * 2, "layer": [3, 2], "f1": [0.95, 0.93]}
                 ).write_parquet(replicate / "neurons.parquet")
    pl.read_parquet(tmp_path / "summaries" / "models" / "lad-7" / "probes.parquet").write_parquet(
        replicate / "probes.parquet")
    for model, p_holm in (("lad-7", 0.01), ("lad-7-seed1", 0.3)):
        (tmp_path / "neurons" / model).mkdir(parents=True)
        pl.DataFrame({"dataset": ["natural_language"], "feature": ["de"], "p_holm": [p_holm]}
                     ).write_parquet(tmp_path / "neurons" / model / "ablation_summary.parquet")
    text = "\n".join(seed_section([run]))
    # one rung, 2 features; its one single-neuron claim (de, 1.0) holds (0.93), in another layer
    assert "| lad-7 | lad-7 / lad-7-seed1 | 2 | 1 | 1 | 1 | 1 | 0 |" in text
    assert "| natural_language | de | 1.0 / 0.93 | L1 / L2 | yes | no | yes | no |" in text
    assert "| natural_language | fr |" not in text  # 0.8 in its own run: no claim to test
    alone = Run("x", tmp_path / "elsewhere", "c.yaml")
    assert "None of these runs has replicates" in seed_section([alone])[0]


def test_basis_section_puts_both_bases_of_a_model_side_by_side(tmp_path):
    from sparseprobe.report.results_doc import basis_section

    run = write_run(tmp_path, "m")
    assert "None of these runs probed the residual stream" in basis_section([run])[0]
    resid = tmp_path / "summaries" / "models" / "m-resid"
    resid.mkdir(parents=True)
    for name in ("best_layers", "neurons"):
        table = pl.read_parquet(tmp_path / "summaries" / "models" / "m" / f"{name}.parquet")
        table = table.with_columns(pl.col("f1") - 0.1)
        if name == "best_layers":
            table = table.with_columns(d_mlp=pl.lit(384))
        table.write_parquet(resid / f"{name}.parquet")
    text = "\n".join(basis_section([run]))
    assert "|  | m: MLP | m: residual |" in text
    assert "| units per layer | 1,536 | 384 |" in text
    assert "| mean best single-unit F1 | 0.900 | 0.800 |" in text
    assert "| features with a single unit at F1 >= 0.9 | 1 of 2 | 1 of 2 |" in text
