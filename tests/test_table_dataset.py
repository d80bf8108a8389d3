"""Your own data: CSV / Parquet / JSONL tables, validated with errors naming file and column."""

import json
from pathlib import Path

import polars as pl
import pytest

from sparseprobe.datasets import load_feature_dataset
from sparseprobe.datasets.table import build_table
from sparseprobe.errors import DatasetError


def _frame(n=30):
    texts = [f"sentence {i} about {'cats' if i % 3 == 0 else 'dogs'} here" for i in range(n)]
    return pl.DataFrame({
        "sentence": texts,
        "is_cat": [i % 3 == 0 for i in range(n)],
        "long": ["1" if i >= n // 2 else "0" for i in range(n)],
        "start": [t.index("about") + 6 for t in texts],
        "end": [t.index(" here") for t in texts],
    })


def _build(path, tmp_path, **kw):
    args = dict(text_column="sentence", label_columns=["is_cat", "long"], aggregation="mean",
                test_fraction=0.3, seed=1, name="mine")
    args.update(kw)
    return build_table(path, tmp_path / "out", **args)


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_each_format_builds_the_same_dataset(tmp_path, suffix):
    frame, path = _frame(), tmp_path / f"data.{suffix}"
    {"csv": frame.write_csv, "parquet": frame.write_parquet, "jsonl": frame.write_ndjson}[suffix](path)
    ds = _build(path, tmp_path, span_start_column="start", span_end_column="end")
    assert ds.features == ["is_cat", "long"]
    row = ds.examples.row(0, named=True)
    assert row["text"][row["span_start"]:row["span_end"]] == "cats"
    assert load_feature_dataset(tmp_path / "out").fingerprint == ds.fingerprint


def test_without_span_the_whole_text_is_read(tmp_path):
    path = tmp_path / "d.csv"
    _frame().write_csv(path)
    ds = _build(path, tmp_path)
    assert (ds.examples["span_start"] == 0).all()
    assert (ds.examples["span_end"] == ds.examples["text"].str.len_chars()).all()


@pytest.mark.parametrize(
    "mutate, kwargs, message",
    [
        (lambda f: f.drop("long"), {}, "no column 'long'"),
        (lambda f: f.with_columns(pl.lit(True).alias("is_cat")), {}, "'is_cat' has a single class"),
        (lambda f: f.with_columns(pl.lit("maybe").alias("long")), {}, "'long' must be binary"),
        (lambda f: f.head(0), {}, "has no rows"),
        (lambda f: f, {"span_start_column": "start"}, "both span_start_column"),
        (lambda f: f.with_columns(pl.lit(999).alias("end")),
         {"span_start_column": "start", "span_end_column": "end"}, "outside its text"),
    ],
)
def test_bad_tables_name_the_file_and_column(tmp_path, mutate, kwargs, message):
    path = tmp_path / "bad.csv"
    mutate(_frame()).write_csv(path)
    with pytest.raises(DatasetError, match=message) as info:
        _build(path, tmp_path, **kwargs)
    assert str(path) in str(info.value)
    assert not (tmp_path / "out" / "meta.json").exists()


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        _build(tmp_path / "nope.csv", tmp_path)
    (tmp_path / "d.xlsx").write_text(json.dumps({}))
    with pytest.raises(DatasetError, match="unsupported extension"):
        _build(tmp_path / "d.xlsx", tmp_path)


def _pile_shard(path, n=30):
    """A Pile shard in its published format: zstd-compressed JSON lines with meta.pile_set_name."""
    import zstandard

    subsets = ["Wikipedia (en)", "PubMed Abstracts", "Github", "EuroParl"]
    lines = [json.dumps({"text": f"document {i} of {subsets[i % 4]} " + "x" * (i % 7),
                         "meta": {"pile_set_name": subsets[i % 4]}}) for i in range(n * 4)]
    path.write_bytes(zstandard.ZstdCompressor().compress("\n".join(lines).encode()))


def test_class_table_reads_a_pile_shard_one_vs_rest(tmp_path):
    from sparseprobe.datasets.table import build_class_table

    shard = tmp_path / "00.jsonl.zst"
    _pile_shard(shard)
    ds = build_class_table(shard, tmp_path / "out", text_column="text",
                           class_column="meta.pile_set_name", aggregation="mean",
                           test_fraction=0.3, seed=0, name="pile",
                           classes=["Wikipedia (en)", "Github", "EuroParl"],
                           examples_per_class=20, max_chars=25)
    assert ds.features == ["Wikipedia (en)", "Github", "EuroParl"]
    assert ds.examples.height == 60
    assert ds.examples["text"].str.len_chars().max() <= 25
    positives = ds.labels.group_by("feature").agg(pl.col("label").sum())
    assert (positives["label"] == 20).all()
    with pytest.raises(DatasetError, match="no rows of class \\['Enron Emails'\\]"):
        build_class_table(shard, tmp_path / "x", text_column="text",
                          class_column="meta.pile_set_name", aggregation="mean",
                          test_fraction=0.3, seed=0, name="pile", classes=["Enron Emails", "Github"])
    with pytest.raises(DatasetError, match="'meta' has no field 'set'"):
        build_class_table(shard, tmp_path / "y", text_column="text", class_column="meta.set",
                          aggregation="mean", test_fraction=0.3, seed=0, name="pile")


def test_class_table_language_column_like_europarl(tmp_path):
    from sparseprobe.datasets.table import build_class_table

    rows = [{"sentence": f"{w} {i}", "lang": lang}
            for i in range(15) for lang, w in (("fr", "bonjour"), ("de", "hallo"), ("en", "hi"))]
    path = tmp_path / "europarl.csv"
    pl.DataFrame(rows).write_csv(path)
    ds = build_class_table(path, tmp_path / "o", text_column="sentence", class_column="lang",
                           aggregation="mean", test_fraction=0.3, seed=1, name="nl")
    assert sorted(ds.features) == ["de", "en", "fr"]
    assert load_feature_dataset(tmp_path / "o").fingerprint == ds.fingerprint


def test_natural_language_from_europarl_release_files(tmp_path):
    """The Europarl release layout (one sentence a line per language file, tags lines skipped):
    language from the file suffix, sentences packed per language, one feature per language."""
    from sparseprobe.datasets.natural_language import (
        build_natural_language_europarl,
        europarl_language,
    )

    words = {"fr": "la session est reprise et nous votons", "de": "die Sitzung ist eröffnet und wir",
             "en": "the session is resumed and we vote"}
    paths = []
    for lang, sentence in words.items():
        pair = "de-en" if lang != "fr" else "fr-en"
        path = tmp_path / f"europarl-v7.{pair}.{lang}"
        lines = ["<CHAPTER ID=1>"] + [f"{sentence} {i}." for i in range(200)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    ds = build_natural_language_europarl(
        paths, tmp_path / "nl", languages=["fr", "de", "en"], examples_per_language=20,
        chars_per_example=120, max_lines=150, aggregation="mean", test_fraction=0.3, seed=0)
    assert ds.features == ["fr", "de", "en"] and ds.examples.height == 60
    for row in ds.examples.join(ds.labels.filter(pl.col("label")), on="example_id").iter_rows(
            named=True):
        assert words[row["feature"]].split()[0] in row["text"] and "<CHAPTER" not in row["text"]
        assert " 160." not in row["text"]  # max_lines: only the first 150 lines are read
    assert europarl_language(Path("ep-00-01-17.fr.txt")) == "fr"
    with pytest.raises(DatasetError, match="cannot tell the language"):
        europarl_language(Path("notes.txt"))
    with pytest.raises(DatasetError, match=r"no Europarl text for \['sv'\]"):
        build_natural_language_europarl(
            paths, tmp_path / "x", languages=["fr", "sv"], examples_per_language=5,
            chars_per_example=50, aggregation="mean", test_fraction=0.3, seed=0)
