"""Neuron case studies and ablation on the tiny local GPT-NeoX and a tiny dataset and store."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import numpy as np
import polars as pl
import pytest
import torch

from sparseprobe.report.ablation import (
    AblationSettings,
    ablate_neuron,
    encode,
    run_ablation,
    select_sequences,
    sequence_losses,
    summarize,
    write_ablation,
)
from sparseprobe.activations.extraction import ExtractionSettings, extract_activations, tokenize_example
from sparseprobe.report.case_studies import (
    CaseStudySettings,
    ReadWindow,
    context_html,
    read_window,
    write_case_studies,
)
from sparseprobe.config import ModelSpec
from sparseprobe.datasets import load_feature_dataset, write_feature_dataset
from sparseprobe.errors import NeuronStudyError
from sparseprobe.models.loading import load_model
from sparseprobe.summaries.neurons import read_neuron_table, top_neurons
from sparseprobe.activations.store import read_layer


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """20 examples, two binary features: `even` (label i % 2 == 0) and `low` (i < 10)."""
    texts = [f"The high school number {i} is near the <living> room & co" for i in range(20)]
    examples = pl.DataFrame({
        "example_id": list(range(20)), "document_id": [str(i) for i in range(20)], "text": texts,
        "span_start": [t.index("school") for t in texts],
        "span_end": [t.index(" is") for t in texts],
        "stratum": ["a", "b"] * 10,
        "split": ["train", "train", "test", "test", "train"] * 4,
    })
    labels = pl.concat([
        pl.DataFrame({"feature": ["even"] * 20, "example_id": list(range(20)),
                      "label": [i % 2 == 0 for i in range(20)]}),
        pl.DataFrame({"feature": ["low"] * 20, "example_id": list(range(20)),
                      "label": [i < 10 for i in range(20)]}),
    ])
    out = tmp_path_factory.mktemp("neurons_ds") / "tiny"
    write_feature_dataset(out, name="tiny", category="toy", aggregation="mean",
                          examples=examples, labels=labels, meta={})
    return out


@pytest.fixture(scope="module")
def tiny_dataset(dataset_dir):
    return load_feature_dataset(dataset_dir)


@pytest.fixture(scope="module")
def spec(tiny_model_dir):
    return ModelSpec(name="tiny", family="toy", source_kind="local", source=str(tiny_model_dir))


@pytest.fixture(scope="module")
def model(spec):
    return load_model(spec, device="cpu")


@pytest.fixture(scope="module")
def store(model, tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("neurons_store") / "tiny"
    extract_activations(model, tiny_dataset, out,
                        ExtractionSettings(context_tokens=8, store_dtype="float32"))
    return out


def neuron_table(rows: list[tuple]) -> pl.DataFrame:
    """A contract-shaped neuron table: (dataset, feature, layer, neuron, f1, mcc, coef) rows."""
    frame = pl.DataFrame(rows, schema=["dataset", "feature", "layer", "neuron", "f1", "mcc",
                                       "coef"], orient="row")
    return frame.with_columns(
        model=pl.lit("tiny"), family=pl.lit("toy"), n_parameters=pl.lit(1, pl.Int64),
        n_layers=pl.lit(2, pl.Int32), category=pl.lit("toy"),
        relative_depth=(pl.col("layer") + 1) / 2, method=pl.lit("single_neuron"),
        precision=pl.col("f1"), recall=pl.col("f1"), f1_ci_low=pl.lit(None, pl.Float64),
        f1_ci_high=pl.lit(None, pl.Float64), layer=pl.col("layer").cast(pl.Int32),
        neuron=pl.col("neuron").cast(pl.Int32),
    )


@pytest.fixture
def table_path(tmp_path):
    path = tmp_path / "neurons.parquet"
    neuron_table([("tiny", "even", 1, 5, 0.7, 0.4, 2.0), ("tiny", "low", 0, 9, 0.9, 0.8, -1.5),
                  ("other", "x", 0, 1, 0.95, 0.9, 1.0)]).write_parquet(path)
    return path


# ---------------------------------------------------------------- neuron table


def test_neuron_table_is_checked(tmp_path, table_path):
    table = read_neuron_table(table_path)
    assert top_neurons(table, 2).select("rank", "feature").rows() == [(1, "x"), (2, "low")]
    tied = neuron_table([("d", "b", 0, 1, 1.0, 0.9, 1.0), ("d", "a", 0, 2, 1.0, 0.9, 1.0),
                         ("d", "c", 0, 3, 1.0, 1.0, 1.0)])
    assert top_neurons(tied, 3)["feature"].to_list() == ["c", "a", "b"]
    # chosen on validation: ranked on val_f1, ties on val_mcc; the test F1 / MCC play no part
    validated = tied.with_columns(val_f1=pl.Series([1.0, 1.0, 0.5]),
                                  val_mcc=pl.Series([0.8, 0.9, 1.0]),
                                  mcc=pl.Series([1.0, 0.0, 1.0]))
    assert top_neurons(validated, 3)["feature"].to_list() == ["a", "b", "c"]
    bad = tmp_path / "bad.parquet"
    pl.read_parquet(table_path).drop("neuron").write_parquet(bad)
    with pytest.raises(NeuronStudyError, match=r"bad.parquet.*\['neuron'\]"):
        read_neuron_table(bad)
    pl.concat([pl.read_parquet(table_path)] * 2).write_parquet(bad)
    with pytest.raises(NeuronStudyError, match="one row per"):
        read_neuron_table(bad)
    with pytest.raises(NeuronStudyError, match="missing"):
        read_neuron_table(tmp_path / "nope.parquet")


# ---------------------------------------------------------------- case studies


@pytest.mark.parametrize("aggregation", ["mean", "last"])
def test_read_window_matches_extraction(tiny_model_dir, aggregation):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = "The high school is near the living room of the city. " * 3 + "Last high school here"
    start, end = text.rindex("high school"), text.rindex(" here")
    window = read_window(tok, text, start, end, 8, True, aggregation)
    ex = tokenize_example(tok, text, start, end, 8, 0)
    offsets = tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    last = max(i for i, (s, e) in enumerate(offsets) if s < end and e > start)
    first = last - (len(ex.ids) - 1) + 1  # the window's first text token (BOS excluded)
    assert (window.start, window.end) == (offsets[first][0], offsets[last][1])
    read = [p - 1 + first for p in ex.span_positions]  # window positions -> text token indices
    if aggregation == "last":
        read = read[-1:]
    covered = {i for s, e in window.read for i in range(s, e)}
    assert covered == {i for p in read for i in range(*offsets[p])}
    assert "school" in text[window.read[-1][0]:window.read[-1][1]]


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_context_html_escapes_and_marks():
    text = 'a <script>alert("x")</script> & \'q\' <b>SPAN</b> tail <i>after</i>'
    start, end = text.index("<b>"), text.index(" tail")
    window = ReadWindow(start=2, end=end, read=((text.index("SPAN"), text.index("SPAN") + 4),))
    fragment = context_html(text, window, start, end, unseen_chars=6)
    assert "<script>" not in fragment and "<b>" not in fragment and "<i>" not in fragment
    assert "&lt;script&gt;" in fragment and "&amp;" in fragment
    assert "<mark>SPAN</mark>" in fragment
    parser = _Collect()
    parser.feed(fragment)
    assert set(parser.tags) <= {"mark", "u", "span"}
    # the visible text is the window, the ellipsis for the cut start, and 6 unseen chars
    assert "".join(parser.text) == "\u2026" + text[2:end] + text[end:end + 6] + "\u2026"


def test_case_studies_on_a_tiny_store(spec, tiny_dataset, dataset_dir, store, table_path,
                                      tmp_path):
    settings = CaseStudySettings(n_neurons=2, contexts=6, bins=10)
    table = pl.read_parquet(table_path).filter(pl.col("dataset") == "tiny")
    table.write_parquet(table_path)
    hist, ctx = tmp_path / "hist", tmp_path / "ctx"
    index = write_case_studies(table_path, spec, {"tiny": dataset_dir}, {"tiny": store},
                               {"tiny": 8}, hist, ctx, tmp_path / "index.parquet", settings)
    assert index.select("rank", "feature", "layer", "neuron").rows() == [
        (1, "low", 0, 9), (2, "even", 1, 5)]
    assert sorted(p.name for p in hist.iterdir()) == [
        "01__tiny__low__L0__N9.png", "02__tiny__even__L1__N5.png"]
    assert all(p.stat().st_size > 5000 for p in hist.iterdir())
    assert sorted(p.name for p in ctx.iterdir()) == [
        "01__tiny__low__L0__N9.html", "02__tiny__even__L1__N5.html"]
    acts = read_layer(store, 1, tiny_dataset)[:, 5]
    even = np.arange(20) % 2 == 0
    row = index.row(1, named=True)
    assert (row["n_positive"], row["n_negative"]) == (10, 10)
    assert row["mean_positive"] == pytest.approx(acts[even].mean(), rel=1e-5)
    assert row["mean_negative"] == pytest.approx(acts[~even].mean(), rel=1e-5)
    page = (ctx / "02__tiny__even__L1__N5.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "&lt;living&gt; room &amp; co" in page and "<living>" not in page
    shown = [int(m) for m in re.findall(r'<tr class="(?:in|out)"><td class="num">\d+</td>'
                                        r'<td class="num">(\d+)</td>', page)]
    assert shown == list(np.lexsort((np.arange(20), -acts))[:6])  # most active first
    classes = re.findall(r'<td class="cls">([^<]+)</td>', page)
    assert classes == ["in class" if even[i] else "out of class" for i in shown]
    table_part = page[page.index("<table>"):]
    marks = re.findall(r"<mark>([^<]*)</mark>", table_part)  # mean: the span's tokens read
    assert [html.unescape(m).strip() for m in marks] == [
        f"school number {i}"[-len(html.unescape(m).strip()):] for m, i in zip(marks, shown)]
    assert all(len(m.strip()) >= 4 for m in marks)


def test_case_studies_name_a_missing_dataset(spec, dataset_dir, store, tmp_path):
    path = tmp_path / "neurons.parquet"
    neuron_table([("elsewhere", "x", 0, 1, 0.9, 0.8, 1.0)]).write_parquet(path)
    with pytest.raises(NeuronStudyError, match="dataset 'elsewhere'"):
        write_case_studies(path, spec, {"tiny": dataset_dir}, {"tiny": store}, {}, tmp_path / "h",
                           tmp_path / "c", tmp_path / "i.parquet", CaseStudySettings())


# ---------------------------------------------------------------- ablation


def sequences(model, dataset, n=6):
    texts = dataset.examples["text"].to_list()[:n]
    return [encode(model.tokenizer, t, 24, 0) for t in texts]


def hf_loss(model_dir, seqs, layer=None, neuron=None):
    """Summed next-token loss from plain transformers, a neuron zeroed by an HF hook."""
    from transformers import GPTNeoXForCausalLM

    hf = GPTNeoXForCausalLM.from_pretrained(model_dir).eval()
    if layer is not None:
        def zero(module, inputs, output):
            output = output.clone()
            output[..., neuron] = 0
            return output

        hf.gpt_neox.layers[layer].mlp.act.register_forward_hook(zero)
    losses = []
    with torch.no_grad():
        for seq in seqs:
            ids = torch.tensor([seq])
            logp = torch.log_softmax(hf(ids).logits[0, :-1].double(), -1)
            losses.append(float(-logp.gather(-1, ids[0, 1:, None]).sum()))
    return np.array(losses)


def test_ablation_matches_a_plain_transformers_reference(model, tiny_dataset, tiny_model_dir):
    seqs = sequences(model, tiny_dataset)
    clean = sequence_losses(model, seqs, batch_size=4)
    ablated, value = ablate_neuron(model, seqs, 1, 7, AblationSettings(batch_size=4))
    assert value == 0.0
    np.testing.assert_allclose(clean, hf_loss(tiny_model_dir, seqs), atol=1e-3)
    np.testing.assert_allclose(ablated, hf_loss(tiny_model_dir, seqs, 1, 7), atol=1e-3)
    assert np.abs(ablated - clean).max() > 1e-3  # the neuron matters to a random model


def test_neuron_without_outgoing_weights_changes_nothing(model, tiny_dataset, tiny_model_dir,
                                                         tmp_path):
    from transformers import AutoTokenizer, GPTNeoXForCausalLM

    hf = GPTNeoXForCausalLM.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        hf.gpt_neox.layers[0].mlp.dense_4h_to_h.weight[:, 11] = 0
    hf.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(tmp_path)
    cut = load_model(ModelSpec(name="cut", family="toy", source_kind="local",
                               source=str(tmp_path)), device="cpu")
    seqs = sequences(cut, tiny_dataset)
    clean = sequence_losses(cut, seqs, batch_size=3)
    for method in ("zero", "mean"):
        ablated, _ = ablate_neuron(cut, seqs, 0, 11, AblationSettings(method=method))
        np.testing.assert_allclose(ablated, clean, rtol=0, atol=1e-9)
    ablated, _ = ablate_neuron(cut, seqs, 0, 12, AblationSettings())
    assert np.abs(ablated - clean).max() > 1e-3  # its neighbour, with weights, does matter


def test_hooks_are_removed_afterwards(model, tiny_dataset):
    seqs = sequences(model, tiny_dataset, n=3)
    point = model.bridge.hook_dict["blocks.1.mlp.hook_post"]
    before = sequence_losses(model, seqs, batch_size=2)
    ablate_neuron(model, seqs, 1, 7, AblationSettings(method="mean"))

    def broken(activation, hook=None):
        raise RuntimeError("hook failed")

    with pytest.raises(RuntimeError, match="hook failed"):
        sequence_losses(model, seqs, 2, [("blocks.1.mlp.hook_post", broken)])
    assert not point.fwd_hooks
    with model.bridge.hooks(fwd_hooks=[("blocks.1.mlp.hook_post", broken)]):
        assert point.fwd_hooks  # the attribute this test reads does see attached hooks
    np.testing.assert_array_equal(sequence_losses(model, seqs, batch_size=2), before)


def test_losses_do_not_depend_on_batching(model, tiny_dataset):
    seqs = sequences(model, tiny_dataset, n=7)
    one = sequence_losses(model, seqs, batch_size=1)
    np.testing.assert_allclose(sequence_losses(model, seqs, batch_size=4), one, atol=1e-4)
    assert np.all(one > 0)


def test_sequences_are_test_split_and_seeded(tiny_dataset):
    chosen = select_sequences(tiny_dataset, "even", 3, seed=1)
    test = set(tiny_dataset.examples.filter(pl.col("split") == "test")["example_id"])
    assert set(chosen["example_id"]) <= test
    assert chosen["in_class"].to_list() == [True] * 3 + [False] * 3
    assert all((i % 2 == 0) == c for i, c in chosen.iter_rows())
    assert chosen.equals(select_sequences(tiny_dataset, "even", 3, seed=1))
    assert select_sequences(tiny_dataset, "even", 50, seed=1).height == 8  # all 8 test examples
    with pytest.raises(NeuronStudyError, match="no positive test example"):
        select_sequences(tiny_dataset.__class__(**{**tiny_dataset.__dict__, "labels":
                         tiny_dataset.labels.with_columns(label=pl.lit(False))}), "even", 3, 1)


def test_run_ablation_writes_deterministic_tables(model, dataset_dir, table_path, tmp_path):
    settings = AblationSettings(sequences_per_class=3, tokens=24, batch_size=4)
    table = pl.read_parquet(table_path).filter(pl.col("dataset") == "tiny")
    table.write_parquet(table_path)
    out = [tmp_path / n for n in ("rows.parquet", "summary.parquet", "summary.html", "box.png")]
    rows = write_ablation(model, table_path, {"tiny": dataset_dir}, {"tiny": []}, settings, *out)
    assert rows.columns[:10] == ["model", "dataset", "feature", "layer", "neuron", "example_id",
                                 "in_class", "n_tokens", "loss_clean", "loss_ablated"]
    assert rows.height == 2 * 6 and set(rows["feature"]) == {"even", "low"}
    assert rows.filter(pl.col("feature") == "low")[["layer", "neuron"]].unique().rows() == [(0, 9)]
    np.testing.assert_allclose(rows["delta"], rows["loss_ablated"] - rows["loss_clean"])
    assert rows["n_tokens"].max() <= 23
    again = run_ablation(model, table_path, {"tiny": dataset_dir}, {"tiny": ["low", "even"]},
                         settings)
    key = ["feature", "example_id"]
    assert rows.sort(key).equals(again.sort(key))
    summary = pl.read_parquet(out[1])
    assert summary.height == 2 and summary["n_in"].to_list() == [3, 3]
    assert out[3].stat().st_size > 5000
    page = out[2].read_text()
    assert page.count("<tr>") == 3 and "mean_delta_in" in page and "&lt;" not in page
    with pytest.raises(NeuronStudyError, match="feature 'nope'"):
        run_ablation(model, table_path, {"tiny": dataset_dir}, {"tiny": ["nope"]}, settings)


def test_summary_numbers():
    rows = pl.DataFrame({
        "model": "m", "dataset": "d", "feature": "f", "layer": 0, "neuron": 1, "method": "zero",
        "example_id": list(range(8)), "in_class": [True] * 4 + [False] * 4,
        "n_tokens": [10] * 8, "loss_clean": [1.0] * 8,
        "delta": [5.0, 6.0, 7.0, 100.0, 0.1, -0.1, 0.0, 0.2],
    })
    summary = summarize(rows).row(0, named=True)
    assert summary["mean_delta_in"] == pytest.approx(29.5)
    assert summary["median_delta_in"] == pytest.approx(6.5)
    assert summary["median_delta_out"] == pytest.approx(0.05)
    assert summary["mean_delta_per_token_in"] == pytest.approx(2.95)
    assert summary["p_value"] < 0.05 and summary["delta_gap"] == pytest.approx(29.45)
    assert summary["p_holm"] == pytest.approx(summary["p_value"])  # one test: unchanged


def test_holm_and_benjamini_hochberg_by_hand():
    """p = 0.01, 0.04, 0.03, 0.005 (m = 4). Holm, sorted 0.005, 0.01, 0.03, 0.04: 4 x 0.005 =
    0.02, 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, 1 x 0.04 = 0.04 -> running max 0.06. BH: 4 p / rank
    = 0.02, 0.02, 0.04, 0.04, then running min from the top."""
    from scipy.stats import false_discovery_control

    from sparseprobe.report.ablation import benjamini_hochberg, holm

    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg(p) == pytest.approx(false_discovery_control(p).tolist())
    assert holm([None, 0.2, 0.9]) == [None, 0.4, 0.9]  # nulls do not count among the tests
    assert holm([0.6, 0.7]) == [1.0, 1.0]


def test_ablation_plan_reads_and_checks_the_config():
    from sparseprobe.config import ConfigError, ablation_plan

    config = {"datasets": {"lang": {}, "code": {}}, "models": ["a", "b"]}
    assert ablation_plan(config, config["models"]) == ([], {})
    config["ablation"] = {"features": {"lang": ["fr"], "code": []}, "models": None}
    assert ablation_plan(config, config["models"]) == (["a", "b"], {"lang": ["fr"], "code": []})
    config["ablation"]["models"] = ["b"]
    assert ablation_plan(config, config["models"])[0] == ["b"]
    config["ablation"]["models"] = ["c"]
    with pytest.raises(ConfigError, match=r"ablation.models: \['c'\]"):
        ablation_plan(config, config["models"])
    config["ablation"] = {"features": {"nope": ["x"]}}
    with pytest.raises(ConfigError, match=r"ablation.features: datasets \['nope'\]"):
        ablation_plan(config, config["models"])


def test_case_studies_rank_a_validation_chosen_table_by_validation_f1():
    from sparseprobe.report.case_studies import top_by_selection

    table = pl.DataFrame({"model": "m", "dataset": "d", "feature": ["a", "b", "c"],
                          "layer": 0, "neuron": [1, 2, 3], "f1": [0.99, 0.7, 0.8],
                          "mcc": [0.9, 0.5, 0.6], "coef": 1.0, "val_f1": [0.5, 0.9, 0.8],
                          "val_mcc": [0.4, 0.8, 0.7], "selected_on": "validation"})
    assert top_by_selection(table, 2)["feature"].to_list() == ["b", "c"]
    paper = table.with_columns(selected_on=pl.lit("test"))
    assert top_by_selection(paper, 2)["feature"].to_list() == ["a", "c"]
    assert top_by_selection(table.drop("val_f1"), 1)["feature"].to_list() == ["a"]
