"""The ladder's corpus never contains a feature dataset's test example."""

import polars as pl
import pytest

from sources_fixture import django_wheel, sae_probes_wheel
from sparseprobe.models.ladder.corpus import build_corpus
from sparseprobe.datasets.builders import BUILDERS
from sparseprobe.errors import DatasetError


@pytest.fixture
def built(tmp_path):
    django_wheel(tmp_path / "django.pkg")
    sae_probes_wheel(tmp_path / "sae.pkg")
    BUILDERS["natural_language"](tmp_path / "django.pkg", tmp_path / "nl", test_fraction=0.3,
                                 seed=0, name="nl", languages=["en", "fr", "de"],
                                 examples_per_language=12, chars_per_example=80,
                                 aggregation="mean")
    # data_subset samples prompts of 161-like sets; here its "news" texts are also background
    BUILDERS["data_subset"](tmp_path / "sae.pkg", tmp_path / "ds", test_fraction=0.3, seed=0,
                            name="ds", subsets=["news", "tweets"], examples_per_subset=20,
                            max_chars=30, aggregation="mean")
    return tmp_path


def test_no_test_example_enters_the_corpus(built):
    corpus = build_corpus(
        [built / "nl", built / "ds"], built / "corpus.parquet",
        sae_probes_wheel=built / "sae.pkg", django_wheel=built / "django.pkg",
        background_sae_probes=["97_news_class", "161_agnews_0"], background_languages=["ca"],
        background_chars=10**7, seed=0,
    )
    texts = corpus["text"].to_list()
    for name in ("nl", "ds"):
        examples = pl.read_parquet(built / name / "examples.parquet")
        test = examples.filter(pl.col("split") == "test")["text"].to_list()
        train = examples.filter(pl.col("split") == "train")["text"].to_list()
        assert not any(t.startswith(x[:64]) for t in texts for x in test)
        assert set(train) <= set(texts)
    origins = set(corpus["origin"])
    assert {"sae_probes:97_news_class", "sae_probes:161_agnews_0", "django:ca"} <= origins
    again = build_corpus(
        [built / "nl", built / "ds"], built / "corpus2.parquet",
        sae_probes_wheel=built / "sae.pkg", django_wheel=built / "django.pkg",
        background_sae_probes=["97_news_class", "161_agnews_0"], background_languages=["ca"],
        background_chars=10**7, seed=0,
    )
    assert again["text"].to_list() == texts


def test_background_language_that_is_probed_is_refused(built):
    with pytest.raises(DatasetError, match="background_languages \\['fr'\\]"):
        build_corpus([built / "nl"], built / "c.parquet", sae_probes_wheel=built / "sae.pkg",
                     django_wheel=built / "django.pkg", background_sae_probes=[],
                     background_languages=["fr"], background_chars=0, seed=0)
