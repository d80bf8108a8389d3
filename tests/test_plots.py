"""The report's figures: drawn from synthetic frames with the summary-table contract's columns;
the tests read back what was drawn (line and cell values) and compare it with the rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from sparseprobe.report import plots
from sparseprobe.errors import ReportError

SIZES = {"m-1": 1_000, "m-2": 30_000, "m-3": 2_000_000}
LAYERS = {"m-1": 1, "m-2": 2, "m-3": 4}
FEATURES = [("fr", "classification"), ("de", "classification"), ("pos", "regression")]


def _score(layer: int, k: int, feature: str) -> float:
    return round(0.3 + 0.1 * layer + 0.02 * np.log2(k) + 0.01 * len(feature), 4)


def probes_table(model: str = "m-2", d_mlp: int = 8, ks=(1, 2, 4, 16)) -> pl.DataFrame:
    """Table 1 rows of one model: mean_diff / correlation at each k (capped at d_mlp, so k=16
    reads the k=8 row as the probe grid does) and a dense probe per layer."""
    rows = []
    for layer in range(LAYERS[model]):
        for feature, task in FEATURES:
            sweep = "mean_diff" if task == "classification" else "correlation"
            for method, k in [*((sweep, min(k, d_mlp)) for k in ks), ("dense", d_mlp)]:
                score = _score(layer, k, feature) + (0.2 if method == "dense" else 0.0)
                rows.append({"model": model, "family": "m", "n_parameters": SIZES[model],
                             "n_layers": LAYERS[model], "d_mlp": d_mlp, "dataset": "langs",
                             "layer": layer, "feature": feature, "task": task, "method": method,
                             "k": k, "category": "natural_language",
                             "relative_depth": (layer + 1) / LAYERS[model],
                             "f1": score if task == "classification" else None,
                             "r2": score if task == "regression" else None})
    return pl.DataFrame(rows, schema_overrides={"n_layers": pl.Int32, "d_mlp": pl.Int32,
                                                "layer": pl.Int32, "k": pl.Int32})


def best_table() -> pl.DataFrame:
    """Table 2 of three models (concatenated): best layer = the deepest (highest score)."""
    frames = []
    for model in SIZES:
        probes = probes_table(model).unique(["layer", "feature", "method", "k"])
        best = (probes.sort("layer", descending=True)
                .unique(["feature", "method", "k"], keep="first")
                .rename({"layer": "best_layer"}))
        frames.append(best)
    return pl.concat(frames)


def scaling_table(bootstrap: bool = True) -> pl.DataFrame:
    """Table 5 rows: per model and feature, best-layer F1s and (optionally) intervals."""
    rows = []
    for i, model in enumerate(SIZES):
        for feature, task in FEATURES:
            binary = task == "classification"
            values = {"f1_k1": 0.5 + 0.1 * i, "f1_k16": 0.6 + 0.1 * i, "f1_dense": 0.7 + 0.1 * i}
            rows.append({
                "model": model, "family": "m", "n_parameters": SIZES[model], "dataset": "langs",
                "feature": feature, "task": task, "category": "natural_language",
                **{key: value if binary else None for key, value in values.items()},
                **{key.replace("f1", "r2"): None if binary else value - 0.4
                   for key, value in values.items()},
                "f1_single": 0.55 + 0.1 * i if binary else None,
                "f1_k1_ci_low": values["f1_k1"] - 0.05 if bootstrap and binary else None,
                "f1_k1_ci_high": values["f1_k1"] + 0.03 if bootstrap and binary else None,
                "f1_dense_ci_low": None, "f1_dense_ci_high": None,
            })
    return pl.DataFrame(rows, schema_overrides={
        col: pl.Float64 for col in ("f1_k1_ci_low", "f1_k1_ci_high", "f1_dense_ci_low",
                                    "f1_dense_ci_high", "r2_k1", "r2_k16", "r2_dense",
                                    "f1_k1", "f1_k16", "f1_dense", "f1_single")})


def models_table() -> pl.DataFrame:
    """Table 6 rows: per model and category (and "all")."""
    rows = []
    for i, model in enumerate(SIZES):
        for j, category in enumerate(["all", "natural_language", "code_language"]):
            rows.append({"model": model, "family": "m", "n_parameters": SIZES[model],
                         "n_layers": LAYERS[model], "category": category, "n_features": 4 + j,
                         "mean_f1_k1": 0.5 + 0.1 * i - 0.01 * j, "mean_f1_single": 0.6 + 0.1 * i,
                         "mean_f1_dense": 0.8 + 0.05 * i, "mean_gap": 0.3 - 0.1 * i,
                         "median_k_90": float(2 ** (3 - i)), "median_k_95": float(2 ** (4 - i)),
                         "n_single_f1_ge_0_9": i + j})
    return pl.DataFrame(rows)


@pytest.fixture
def drawn(monkeypatch):
    """Keep the figure a plot function saves (and still write it) for inspection."""
    figures = []
    save = plots.layout.save

    def keep(fig, out, svg=None):
        figures.append(fig)
        save(fig, out, svg)

    monkeypatch.setattr(plots.layout, "save", keep)
    return figures


def _png_ok(path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def test_sparsity_by_layer_draws_each_layer_from_the_rows(tmp_path, drawn):
    probes = probes_table()
    plots.sparsity_by_layer(probes, "langs", tmp_path / "a.png", svg=tmp_path / "a.svg")
    _png_ok(tmp_path / "a.png")
    assert (tmp_path / "a.svg").read_text().lstrip().startswith("<?xml")
    panels = [ax for ax in drawn[0].axes if ax.get_title()]
    assert [ax.get_title() for ax in panels[:3]] == ["fr", "de", "pos (R$^2$)"]
    fr = panels[0]
    solid = [line for line in fr.get_lines() if line.get_linestyle() == "-"]
    dashed = [line for line in fr.get_lines() if line.get_linestyle() == "--"]
    assert len(solid) == 2 and len(dashed) == 2  # a line and a dense reference per layer
    # k = 16 is capped at d_mlp = 8: the duplicate row is drawn once
    assert list(solid[1].get_xdata()) == [1, 2, 4, 8]
    assert list(solid[1].get_ydata()) == [_score(1, k, "fr") for k in (1, 2, 4, 8)]
    assert dashed[1].get_ydata()[0] == pytest.approx(_score(1, 8, "fr") + 0.2)
    assert solid[0].get_color() != solid[1].get_color()  # coloured by depth
    assert fr.get_xscale() == "log"


def test_heatmap_cells_are_table_values(tmp_path, drawn):
    plots.f1_heatmap(probes_table(), "langs", tmp_path / "b.png", k_values=[1, 16])
    _png_ok(tmp_path / "b.png")
    panels = [ax for ax in drawn[0].axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["k = 1", "k = 16\n(capped at 8)",
                                                "dense\n(8 neurons)"]
    k1 = panels[0].get_images()[0].get_array()
    assert k1.shape == (3, 2)
    assert k1[0, 1] == pytest.approx(_score(1, 1, "fr"))
    assert k1[2, 0] == pytest.approx(_score(0, 1, "pos"))  # the regression target's R^2
    k16 = panels[1].get_images()[0].get_array()
    assert k16[1, 0] == pytest.approx(_score(0, 8, "de"))
    assert {t.get_text() for t in panels[0].texts} >= {f"{_score(1, 1, 'fr'):.2f}"}


def test_best_layer_depth_points_are_best_layer_rows(tmp_path, drawn):
    best = best_table()
    plots.best_layer_depth(best, "langs", tmp_path / "c.png", k_values=[1, 16])
    _png_ok(tmp_path / "c.png")
    fr = next(ax for ax in drawn[0].axes if ax.get_title() == "fr")
    k1, k16, dense = fr.collections[:3]
    depths = [1.0, 1.0, 1.0]  # the deepest layer is the best one in every model
    assert list(k1.get_offsets()[:, 1]) == depths
    # the marker colour encodes that layer's F1 (model m-3, 4 layers: best layer 3)
    assert k1.get_array()[-1] == pytest.approx(_score(3, 1, "fr"))
    assert k16.get_array()[-1] == pytest.approx(_score(3, 8, "fr"))  # k capped at d_mlp
    assert dense.get_array()[0] == pytest.approx(_score(0, 8, "fr") + 0.2)
    assert fr.get_xscale() == "log"


def test_best_layer_depth_draws_the_layers_within_the_interval(tmp_path, drawn):
    # every layer of a model within the best one's interval: the bar spans depths 1/n .. 1
    best = best_table().with_columns(relative_depth_low=1 / pl.col("n_layers"),
                                     relative_depth_high=pl.lit(1.0))
    plots.best_layer_depth(best, "langs", tmp_path / "r.png", k_values=[1])
    fr = next(ax for ax in drawn[0].axes if ax.get_title() == "fr")
    k1_bars = fr.collections[2]  # after the k=1 and dense markers
    spans = sorted((round(seg[0][1], 3), seg[1][1]) for seg in k1_bars.get_segments())
    assert spans == [(0.25, 1.0), (0.5, 1.0), (1.0, 1.0)]  # models of 4, 2 and 1 layers
    assert len(fr.collections) == 4  # one bar set per series, nothing without the columns


def test_feature_scaling_has_series_intervals_and_dynamic(tmp_path, drawn):
    dynamics = pl.DataFrame({"dataset": ["langs"], "feature": ["fr"], "dynamic": ["sparsifies"]})
    plots.feature_scaling(scaling_table(), dynamics, "langs", tmp_path / "d.png", k_values=[1, 16])
    _png_ok(tmp_path / "d.png")
    titles = [ax.get_title() for ax in drawn[0].axes if ax.get_title()]
    assert titles == ["fr [sparsifies]", "de", "pos (R$^2$)"]
    fr = drawn[0].axes[0]
    ys = [list(np.round(line.get_ydata(), 6)) for line in fr.get_lines()]
    assert [0.55, 0.65, 0.75] in ys and [0.5, 0.6, 0.7] in ys and [0.7, 0.8, 0.9] in ys
    bars = [c for c in fr.collections if len(c.get_segments())]
    assert len(bars) == 1  # only top-1 carries intervals here
    low, high = bars[0].get_segments()[0][:, 1]
    assert (low, high) == pytest.approx((0.45, 0.53))
    pos = drawn[0].axes[2]
    assert [0.1, 0.2, 0.3] in [list(np.round(line.get_ydata(), 6)) for line in pos.get_lines()]


def test_feature_scaling_without_bootstrap_has_no_error_bars(tmp_path, drawn):
    plots.feature_scaling(scaling_table(bootstrap=False), None, "langs", tmp_path / "d.png",
                          k_values=[1])
    assert all(not c.get_segments() for ax in drawn[0].axes for c in ax.collections
               if hasattr(c, "get_segments"))


def test_family_scaling_lines_are_table_rows(tmp_path, drawn):
    plots.family_scaling(models_table(), tmp_path / "e.png", svg=tmp_path / "e.svg")
    _png_ok(tmp_path / "e.png")
    a, b, c, d = drawn[0].axes[:4]
    assert list(np.round(a.get_lines()[0].get_ydata(), 6)) == [0.6, 0.7, 0.8]
    assert [t.get_text() for t in a.texts] == ["0/4", "1/4", "2/4"]
    assert [line.get_label() for line in b.get_lines()] == ["code_language", "natural_language"]
    assert list(d.get_lines()[0].get_ydata()) == [8.0, 4.0, 2.0]
    assert d.get_yscale() == "log"


def with_controls(probes: pl.DataFrame) -> pl.DataFrame:
    """``probes`` with 10 test examples of which 2 positive (always-positive F1 2/6 = 0.333)
    and a shuffled_dense row per layer and binary feature (F1 0.1 + 0.05 x layer)."""
    shuffled = (probes.filter((pl.col("method") == "dense")
                              & (pl.col("task") == "classification"))
                .with_columns(method=pl.lit("shuffled_dense"), f1=0.1 + 0.05 * pl.col("layer")))
    return pl.concat([probes, shuffled]).with_columns(
        n_test=pl.lit(10), n_test_positive=pl.when(pl.col("task") == "classification")
        .then(pl.lit(2)))


def _control_lines(ax) -> dict:
    return {line.get_linestyle(): round(float(line.get_ydata()[0]), 6)
            for line in ax.get_lines() if line.get_linestyle() in ("-.", ":")}


def test_sparsity_by_layer_draws_both_controls(tmp_path, drawn):
    plots.sparsity_by_layer(with_controls(probes_table()), "langs", tmp_path / "a.png")
    panels = [ax for ax in drawn[0].axes if ax.get_title()]
    # always positive 2p/(1+p) at p = 0.2; the shuffled control's best layer (layer 1: 0.15)
    assert _control_lines(panels[0]) == {"-.": round(2 * 0.2 / 1.2, 6), ":": 0.15}
    assert _control_lines(panels[2]) == {}  # a regression target has neither
    labels = [text.get_text() for text in drawn[0].legends[0].get_texts()]
    assert labels == ["always positive: 2p/(1+p)",
                      "dense probe on shuffled labels (its best layer)"]
    # without the columns and rows: no control lines and no legend
    plots.sparsity_by_layer(probes_table(), "langs", tmp_path / "b.png")
    assert _control_lines(drawn[1].axes[0]) == {} and not drawn[1].legends


def test_heatmap_has_the_shuffled_control_panel(tmp_path, drawn):
    plots.f1_heatmap(with_controls(probes_table()), "langs", tmp_path / "b.png", k_values=[1])
    panels = [ax for ax in drawn[0].axes if ax.get_title()]
    assert panels[-1].get_title() == "dense, shuffled\nlabels (control)"
    cells = panels[-1].get_images()[0].get_array()
    assert list(cells[0]) == pytest.approx([0.1, 0.15])
    assert np.ma.getmaskarray(cells[2]).all()  # the regression target has no shuffled F1


def test_feature_scaling_draws_the_controls(tmp_path, drawn):
    scaling = scaling_table().with_columns(f1_trivial=pl.lit(0.3), f1_shuffled=pl.lit(0.2))
    plots.feature_scaling(scaling, None, "langs", tmp_path / "d.png", k_values=[1])
    ys = {line.get_linestyle(): list(np.round(line.get_ydata(), 6))
          for line in drawn[0].axes[0].get_lines() if line.get_linestyle() in ("-.", ":")}
    assert ys == {"-.": [0.3] * 3, ":": [0.2] * 3}
    labels = [text.get_text() for text in drawn[0].legends[0].get_texts()]
    assert labels[-2:] == ["dense probe on shuffled labels", "always positive: 2p/(1+p)"]
    plots.feature_scaling(scaling_table(), None, "langs", tmp_path / "e.png", k_values=[1])
    assert "always positive: 2p/(1+p)" not in [
        text.get_text() for text in drawn[1].legends[0].get_texts()]


def test_family_scaling_draws_the_mean_controls(tmp_path, drawn):
    models = models_table().with_columns(mean_f1_trivial=pl.lit(0.25),
                                         mean_f1_shuffled=pl.lit(0.2))
    plots.family_scaling(models, tmp_path / "e.png")
    a = drawn[0].axes[0]
    labels = {line.get_label(): list(np.round(line.get_ydata(), 6)) for line in a.get_lines()}
    assert labels["always positive: 2p/(1+p) (mean)"] == [0.25] * 3
    assert labels["dense probe on shuffled labels (mean)"] == [0.2] * 3


@pytest.mark.parametrize("call", [
    lambda out: plots.sparsity_by_layer(probes_table().drop("task"), "langs", out),
    lambda out: plots.f1_heatmap(probes_table().drop("f1"), "langs", out, [1]),
    lambda out: plots.best_layer_depth(best_table().drop("relative_depth"), "langs", out, [1]),
    lambda out: plots.feature_scaling(scaling_table().drop("f1_single"), None, "langs", out,
                                      [1]),
    lambda out: plots.family_scaling(models_table().drop("median_k_90"), out),
])
def test_missing_column_is_named(tmp_path, call):
    with pytest.raises(ReportError, match=r"missing column\(s\) \['(task|f1|relative_depth|"
                                          r"f1_single|median_k_90)'\]"):
        call(tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_missing_rows_and_columns_are_named(tmp_path):
    with pytest.raises(ReportError, match="no rows with dataset='nope'"):
        plots.sparsity_by_layer(probes_table(), "nope", tmp_path / "x.png")
    with pytest.raises(ReportError, match=r"f1_k64"):
        plots.feature_scaling(scaling_table(), None, "langs", tmp_path / "x.png", [1, 64])
    two_models = pl.concat([probes_table("m-2"), probes_table("m-3")])
    with pytest.raises(ReportError, match="expected one model"):
        plots.f1_heatmap(two_models, "langs", tmp_path / "x.png", [1])


def test_size_labels():
    assert [plots.size_label(n) for n in (950, 134_384, 1_841_920, 70_000_000, 6.9e9)] == [
        "950", "134k", "1.8M", "70M", "6.9B"]


def training_table() -> pl.DataFrame:
    """Two swept models x three checkpoints of one feature (a binary one)."""
    rows = []
    for model, size in (("big", 2000), ("small", 1000)):
        for step in (0, 1000, 143000):
            rows.append({"model": f"{model}@step{step}", "base_model": model, "n_parameters": size,
                         "step": step, "dataset": "langs", "feature": "fr",
                         "task": "classification", "f1_k1": size / 4000 + step / 1e6,
                         "f1_dense": 0.9, "r2_k1": None, "r2_dense": None})
    return pl.DataFrame(rows)


def test_training_dynamics_lines_are_checkpoint_rows(tmp_path, drawn):
    plots.training_dynamics(training_table(), "langs", tmp_path / "t.png")
    _png_ok(tmp_path / "t.png")
    fr = drawn[0].axes[0]
    assert fr.get_title() == "fr" and fr.get_xscale() == "symlog"
    solid = [line for line in fr.get_lines() if line.get_linestyle() == "-"]
    dashed = [line for line in fr.get_lines() if line.get_linestyle() == "--"]
    assert len(solid) == len(dashed) == 2  # one model each, smaller model first
    assert list(solid[0].get_xdata()) == [0, 1000, 143000]
    assert list(np.round(solid[0].get_ydata(), 6)) == [0.25, 0.251, 0.393]
    assert list(dashed[1].get_ydata()) == [0.9, 0.9, 0.9]
    with pytest.raises(ReportError, match="dataset"):
        plots.training_dynamics(training_table(), "nope", tmp_path / "u.png")


# --- legibility: every figure type keeps its text on the canvas, in order, and apart -------------


def _many_features(table: pl.DataFrame, n: int) -> pl.DataFrame:
    """``table`` with its binary feature ``fr`` copied to ``n`` position bins (names as the
    position dataset writes them, in string order: 0-7, 16-23, ..., 8-15 ...)."""
    fr = table.filter(pl.col("feature") == "fr")
    bins = sorted(f"position:{8 * i}-{8 * i + 7}" for i in range(n))
    return pl.concat([fr.with_columns(feature=pl.lit(name)) for name in bins])


FIGURES = {
    "sparsity, 1 panel": lambda out: plots.sparsity_by_layer(
        probes_table().filter(pl.col("feature") == "fr"), "langs", out),
    "sparsity, 3 panels": lambda out: plots.sparsity_by_layer(probes_table(), "langs", out),
    "sparsity, 9 panels": lambda out: plots.sparsity_by_layer(
        _many_features(probes_table(), 9), "langs", out),
    "heat map": lambda out: plots.f1_heatmap(_many_features(probes_table("m-3"), 11), "langs",
                                             out, [1, 16]),
    "best layer, 3 panels": lambda out: plots.best_layer_depth(best_table(), "langs", out,
                                                               [1, 16]),
    "features, 11 panels": lambda out: plots.feature_scaling(
        _many_features(scaling_table(), 11), None, "langs", out, [1, 16]),
    "family summary, 11 categories": lambda out: plots.family_scaling(
        _eleven_categories(), out),
    "training, 3 panels": lambda out: plots.training_dynamics(
        pl.concat([training_table().with_columns(feature=pl.lit(f)) for f in ("a", "b", "c")]),
        "langs", out),
}


def _eleven_categories() -> pl.DataFrame:
    base = models_table().filter(pl.col("category") == "natural_language")
    names = ["compound_words", "code_language", "natural_language", "position", "data_subset",
             "wikidata", "text_features", "part_of_speech", "dependencies", "morphology",
             "latex"]
    return pl.concat([models_table().filter(pl.col("category") == "all")] + [
        base.with_columns(category=pl.lit(name), mean_gap=pl.col("mean_gap") + 0.01 * i)
        for i, name in enumerate(names)])


@pytest.mark.parametrize("name", FIGURES)
def test_no_text_falls_outside_the_canvas(tmp_path, drawn, name):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FIGURES[name](tmp_path / "f.png")
    fig = drawn[0]
    fig.set_dpi(plots.layout.DPI)
    canvas = FigureCanvasAgg(fig)  # the saved figure was closed: draw it again, as saved
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = canvas.get_width_height()
    # what is drawn: each panel's artists (ticks outside the view are not drawn) and the
    # figure's own texts and legends
    boxes = {f"panel {ax.get_title()!r}": ax.get_tightbbox(renderer)
             for ax in fig.axes if ax.get_visible()}
    boxes |= {f"text {t.get_text()!r}": t.get_window_extent(renderer)
              for t in fig.texts if t.get_text().strip()}
    boxes |= {f"legend {i}": legend.get_window_extent(renderer)
              for i, legend in enumerate(fig.legends)}
    assert any(key.startswith("text") for key in boxes)  # the suptitle
    for key, box in boxes.items():
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, (
            name, key, box, (width, height))
    # ...and the saved image is the canvas (no tight box that would rescale it)
    import matplotlib.image

    shape = matplotlib.image.imread(tmp_path / "f.png").shape[:2]
    assert abs(shape[0] - height) <= 1 and abs(shape[1] - width) <= 1


def test_grid_figures_fit_the_report_and_label_every_panel(tmp_path, drawn):
    FIGURES["sparsity, 9 panels"](tmp_path / "f.png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = drawn[0]
    assert fig.get_size_inches()[0] <= 12  # 3 columns, not 6: text stays legible when shown
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert len(panels) == 9
    FigureCanvasAgg(fig).draw()
    for ax in panels:  # tick labels on every panel, also above an empty slot
        assert any(t.get_text() for t in ax.get_xticklabels()), ax.get_title()
    # position bins in numeric order
    assert [ax.get_title() for ax in panels][:3] == [
        "position:0-7", "position:8-15", "position:16-23"]


def test_suptitle_is_wrapped_to_the_figure(tmp_path, drawn):
    one_panel = probes_table().filter(pl.col("feature") == "fr")
    plots.sparsity_by_layer(one_panel, "langs", tmp_path / "f.png")
    assert "\n" in drawn[0].get_suptitle()  # a 1-panel figure is narrower than its title


def test_eleven_categories_get_distinct_colours_and_markers(tmp_path, drawn):
    FIGURES["family summary, 11 categories"](tmp_path / "f.png")
    lines = drawn[0].axes[1].get_lines()
    assert len(lines) == 11
    assert len({line.get_color() for line in lines}) == 11
    assert len({line.get_marker() for line in lines}) == 11
    assert set(plots.CATEGORY_PALETTE[:7]) == {"#E69F00", "#56B4E9", "#009E73", "#0072B2",
                                               "#D55E00", "#CC79A7", "#000000"}  # Okabe-Ito


def test_every_figure_is_written_as_png_and_svg(tmp_path):
    probes_path = tmp_path / "probes.parquet"
    probes_table().write_parquet(probes_path)
    plots.write_all_model_figures(probes_path, ["langs"], tmp_path / "m", heatmap_k=[1])
    training_path = tmp_path / "training.parquet"
    training_table().write_parquet(training_path)
    plots.write_training_figures(training_path, ["langs"], tmp_path / "t")
    for stem in ("m/sparsity__langs", "m/heatmap__langs", "t/training__langs"):
        _png_ok(tmp_path / f"{stem}.png")
        assert (tmp_path / f"{stem}.svg").read_text().lstrip().startswith("<?xml")


def test_basis_comparison_draws_each_basis_from_the_rows(tmp_path, drawn):
    rows = []
    for basis, shift in (("mlp", 0.0), ("resid", -0.1)):
        for i, model in enumerate(SIZES):
            for category in ("all", "code"):
                rows.append({"family": "m", "basis": basis, "model": model,
                             "n_parameters": SIZES[model], "category": category,
                             "n_features": 10, "mean_f1_single": 0.6 + 0.1 * i + shift,
                             "mean_f1_single_ci_low": 0.55 + 0.1 * i + shift,
                             "mean_f1_single_ci_high": 0.65 + 0.1 * i + shift,
                             "n_single_f1_ge_0_9": i + (0 if basis == "mlp" else 1),
                             "mean_f1_k1": 0.5 + shift, "mean_f1_dense": 0.9 + shift})
    plots.basis_comparison(pl.DataFrame(rows), tmp_path / "b.png")
    _png_ok(tmp_path / "b.png")
    a, b, c = drawn[0].axes[:3]
    assert [bars.get_label() for bars in a.containers] == ["MLP neurons", "residual stream"]
    resid_single = a.containers[1].lines[0].get_ydata()
    assert list(np.round(resid_single, 6)) == [0.5, 0.6, 0.7]
    assert list(b.containers[1].lines[0].get_ydata()) == [1, 2, 3]
    assert [round(float(y), 6) for y in c.get_lines()[3].get_ydata()] == [0.8] * 3  # resid dense
