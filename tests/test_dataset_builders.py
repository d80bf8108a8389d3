"""Every offline builder on fixture wheels in the exact layout of the pinned sources."""

from __future__ import annotations

import polars as pl
import pytest

from sources_fixture import django_wheel, sae_probes_wheel
from sparseprobe.datasets import load_feature_dataset
from sparseprobe.datasets.builders import BUILDERS
from sparseprobe.datasets.text_features import PREDICATES, pre_tokens
from sparseprobe.errors import DatasetError


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheels")
    django_wheel(root / "django.whl")
    sae_probes_wheel(root / "sae.whl")
    return root


SPECS = {
    "natural_language": ("django.whl", dict(languages=["en", "fr", "de"], examples_per_language=12,
                                            chars_per_example=80, aggregation="mean")),
    "compound_words": ("sae.whl", dict(features=["high-school", "credit-card"],
                                       examples_per_feature=40, aggregation="last")),
    "wikidata": ("sae.whl", dict(features=["sex_or_gender"], examples_per_feature=40,
                                 aggregation="max")),
    "code_language": ("sae.whl", dict(features=["C", "Python"], examples_per_feature=40,
                                      aggregation="mean", max_chars=50)),
    "data_subset": ("sae.whl", dict(subsets=["news", "tweets", "code"], examples_per_subset=20,
                                    max_chars=60, aggregation="mean")),
    "text_features": ("sae.whl", dict(corpora=["97_news_class", "102_twt_emotion",
                                               "56_wikidatasex_or_gender"],
                                      texts_per_corpus=40, max_chars=200,
                                      features=sorted(PREDICATES), examples_per_feature=30,
                                      positive_fraction=0.2, aggregation="last")),
}


@pytest.mark.parametrize("builder", sorted(SPECS))
def test_builder_is_deterministic_valid_and_grouped(builder, wheels, tmp_path):
    source, spec = SPECS[builder]
    build = BUILDERS[builder]
    first = build(wheels / source, tmp_path / "a", test_fraction=0.3, seed=3, name=builder, **spec)
    second = build(wheels / source, tmp_path / "b", test_fraction=0.3, seed=3, name=builder, **spec)
    assert first.fingerprint == second.fingerprint
    for file in ("examples.parquet", "labels.parquet"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    loaded = load_feature_dataset(tmp_path / "a")
    assert loaded.category in (builder, "natural_language")
    sides = loaded.examples.group_by("document_id").agg(pl.col("split").n_unique())
    assert (sides["split"] == 1).all()  # no document on both sides of the split
    other = build(wheels / source, tmp_path / "c", test_fraction=0.3, seed=4, name=builder, **spec)
    assert other.fingerprint != first.fingerprint


def test_wikidata_reads_the_surname_and_code_keeps_the_start(wheels, tmp_path):
    wiki = BUILDERS["wikidata"](wheels / "sae.whl", tmp_path / "w", test_fraction=0.3, seed=0,
                                name="w", **SPECS["wikidata"][1])
    for row in wiki.examples.head(10).iter_rows(named=True):
        word = row["text"][row["span_start"]:row["span_end"]]
        assert row["text"].endswith(word) and " " not in word
    code = BUILDERS["code_language"](wheels / "sae.whl", tmp_path / "c", test_fraction=0.3,
                                     seed=0, name="c", **SPECS["code_language"][1])
    assert code.examples["text"].str.len_chars().max() <= 50
    assert (code.examples["span_start"] == 0).all()


def test_text_feature_labels_follow_their_predicate(wheels, tmp_path):
    ds = BUILDERS["text_features"](wheels / "sae.whl", tmp_path / "t", test_fraction=0.3, seed=0,
                                   name="t", **SPECS["text_features"][1])
    rows = ds.labels.join(ds.examples, on="example_id")
    for row in rows.iter_rows(named=True):
        unit = row["text"][row["span_start"]:row["span_end"]]
        assert PREDICATES[row["feature"]](unit) == row["label"], (row["feature"], unit)
    per_feature = ds.labels.group_by("feature").agg(pl.col("label").mean())
    assert per_feature["label"].is_between(0.15, 0.25).all()


def test_pre_tokens_cover_the_text_like_a_bpe_pre_tokenizer():
    text = "Hello  world, it's 2024!\n  ok"
    spans = pre_tokens(text)
    assert "".join(text[s:e] for s, e in spans) == text
    assert [text[s:e] for s, e in spans][:4] == ["Hello", " ", " world", ","]


def test_unknown_features_and_too_few_examples_are_named(wheels, tmp_path):
    with pytest.raises(DatasetError, match="unknown wikidata features \\['is_dead'\\]"):
        BUILDERS["wikidata"](wheels / "sae.whl", tmp_path / "x", test_fraction=0.3, seed=0,
                             name="x", features=["is_dead"], examples_per_feature=10,
                             aggregation="max")
    with pytest.raises(DatasetError, match="fewer than the 5000 requested"):
        BUILDERS["compound_words"](wheels / "sae.whl", tmp_path / "y", test_fraction=0.3, seed=0,
                                   name="y", features=["high-school"],
                                   examples_per_feature=10000, aggregation="last")


def test_pre_tokens_cover_every_character_underscores_included():
    from sparseprobe.datasets.text_features import pre_tokens

    text = "x_i = a__b; snake_case  end\n\n\tÉté 42's"
    spans = pre_tokens(text)
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(e1 == s2 for (_, e1), (s2, _) in zip(spans, spans[1:]))
    assert ("_" in [text[s:e] for s, e in spans]) and "__" in [text[s:e] for s, e in spans]
