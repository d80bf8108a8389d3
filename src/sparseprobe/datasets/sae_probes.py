"""Feature datasets from the sae-probes package's labelled prompts (offline, pinned wheel).

The package ships, among others, sets derived from the paper's own datasets (compound words,
Wikidata facts), code-language sets and corpora of different genres. Two shapes:

- *binary sets* (compound words, Wikidata facts, code language): each feature has its own
  prompts with a positive/negative target; a class-balanced sample per feature.
- *subset identification* (data subset): one class per source corpus, one-vs-rest features over
  a shared set of examples, like the paper's Pile-subset task.

Every builder is a deterministic function of the wheel, its arguments and the seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sparseprobe.datasets.catalogs import sae_probes_table
from sparseprobe.datasets.schema import (
    FeatureDataset,
    document_id,
    with_split,
    write_feature_dataset,
)
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import open_wheel

_LAST_WORD = re.compile(r"\S+\s*$")


@dataclass(frozen=True)
class BinarySet:
    """Where one binary feature's prompts come from and which target values are positive."""

    stem: str
    positive: tuple[str, ...]
    negative: tuple[str, ...] | None = None  # None: every other target value


def _bigram(stem: str) -> BinarySet:
    return BinarySet(stem, ("bigram",), ("not_bigram",))


COMPOUND_WORDS: dict[str, BinarySet] = {
    name: _bigram(f"{number}_{name}")
    for number, name in enumerate(
        ["high-school", "living-room", "social-security", "credit-card", "blood-pressure",
         "prime-factors", "social-media", "gene-expression", "control-group", "magnetic-field",
         "cell-lines", "trial-court", "second-derivative", "north-america", "human-rights",
         "side-effects", "public-health", "federal-government", "third-party",
         "clinical-trials", "mental-health"],
        start=65,
    )
}

WIKIDATA_FACTS: dict[str, BinarySet] = {
    "sex_or_gender": BinarySet("56_wikidatasex_or_gender", ("female",), ("male",)),
    "is_alive": BinarySet("57_wikidatais_alive", ("True",), ("False",)),
    "political_party": BinarySet("58_wikidatapolitical_party", ("Democratic Party",),
                                 ("Republican Party",)),
    **{
        f"occupation_{job}": BinarySet(f"{n}_wikidata_occupation_is{job}", ("1",), ("0",))
        for n, job in zip(range(59, 65), ["journalist", "athlete", "actor", "politician",
                                          "singer", "researcher"])
    },
    **{
        f"athlete_sport_{sport}": BinarySet(f"{n}_athlete_sport_{sport}", ("1",), ("0",))
        for n, sport in zip(range(154, 157), ["football", "basketball", "baseball"])
    },
}

CODE_LANGUAGES: dict[str, BinarySet] = {
    "C": BinarySet("158_code_C", ("1",), ("0",)),
    "Python": BinarySet("159_code_Python", ("1",), ("0",)),
    "HTML": BinarySet("160_code_HTML", ("1",), ("0",)),
}

DATA_SUBSETS: dict[str, str] = {
    "news": "97_news_class",
    "tweets": "102_twt_emotion",
    "reviews": "111_yelp_data",
    "medical": "101_disease_class",
    "science": "99_sci_cat",
    "code": "158_code_C",
    "biographies": "56_wikidatasex_or_gender",
}

CATALOGUES = {
    "compound_words": COMPOUND_WORDS,
    "wikidata": WIKIDATA_FACTS,
    "code_language": CODE_LANGUAGES,
}

DESCRIPTIONS = {
    "compound_words": "Compound words (the paper's 21 bigrams): is the last word preceded by the "
    "bigram's first word? Read at the last token.",
    "wikidata": "Wikidata facts about the person named at the end of the prompt (the paper's "
    "Wikidata set), read over the surname (the last word).",
    "code_language": "Code language, one-vs-rest per language (sae-probes code sets), read as the "
    "mean over the prompt's tokens.",
}


def last_word_span(text: str) -> tuple[int, int]:
    """Character span of the last whitespace-delimited word (the whole text if none)."""
    match = _LAST_WORD.search(text)
    if match is None:
        return 0, len(text)
    return match.start(), match.start() + len(match.group().rstrip())


def _finish(frame: pl.DataFrame, span: str, test_fraction: float, seed: int) -> pl.DataFrame:
    """Add ids, spans and the split to a frame with columns text, stratum (+ feature, label)."""
    if span == "last_word":
        spans = [last_word_span(t) for t in frame["text"]]
    else:
        spans = [(0, len(t)) for t in frame["text"]]
    frame = frame.with_columns(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        document_id=pl.col("text").map_elements(document_id, return_dtype=pl.String),
        span_start=pl.Series([s for s, _ in spans], dtype=pl.Int64),
        span_end=pl.Series([e for _, e in spans], dtype=pl.Int64),
    )
    return with_split(frame, test_fraction, seed)


def build_binary_sets(
    sae_probes_wheel: Path,
    out_dir: Path,
    *,
    category: str,
    features: list[str],
    examples_per_feature: int,
    aggregation: str,
    test_fraction: float,
    seed: int,
    name: str,
    max_chars: int | None = None,
) -> FeatureDataset:
    """A dataset of binary sae-probes features of one ``category`` (see CATALOGUES).

    Per feature: ``examples_per_feature // 2`` positives and as many negatives, sampled with the
    seed from the deduplicated prompts. Spans: the last word for compound words and Wikidata
    facts, the whole prompt for code language. ``max_chars`` cuts long prompts: code keeps its
    first characters, last-word sets their last ones (the word read stays in).
    """
    catalogue = CATALOGUES[category]
    unknown = sorted(set(features) - set(catalogue))
    if unknown:
        raise DatasetError(
            f"dataset '{name}': unknown {category} features {unknown}; known: {sorted(catalogue)}"
        )
    rows: list[tuple[str, bool, str]] = []
    per_class = examples_per_feature // 2
    with open_wheel(sae_probes_wheel) as wheel:
        for feature in features:
            source = catalogue[feature]
            table = sae_probes_table(wheel, source.stem).drop_nulls("prompt").unique(
                "prompt", keep="first", maintain_order=True)
            positive = pl.col("target").is_in(list(source.positive))
            negative = (pl.col("target").is_in(list(source.negative)) if source.negative
                        else ~positive)
            for label, condition in ((True, positive), (False, negative)):
                subset = table.filter(condition)
                if subset.height < per_class:
                    raise DatasetError(
                        f"dataset '{name}': feature '{feature}' ({source.stem}) has "
                        f"{subset.height} {'positive' if label else 'negative'} prompts, fewer "
                        f"than the {per_class} requested"
                    )
                sample = subset.sample(per_class, seed=seed, shuffle=True)
                rows += [(feature, label, p) for p in sample["prompt"]]
    frame = pl.DataFrame(rows, schema=["feature", "label", "text"], orient="row").with_columns(
        stratum=pl.col("feature") + pl.when(pl.col("label")).then(pl.lit(":pos"))
        .otherwise(pl.lit(":neg"))
    )
    span = "whole" if category == "code_language" else "last_word"
    if max_chars is not None:
        frame = frame.with_columns(
            text=pl.col("text").str.head(max_chars) if span == "whole"
            else pl.col("text").str.tail(max_chars)
        )
    frame = _finish(frame, span, test_fraction, seed)
    return write_feature_dataset(
        out_dir, name=name, category=category, aggregation=aggregation, examples=frame,
        labels=frame.select("feature", "example_id", "label"),
        meta={"description": DESCRIPTIONS[category],
              "source": f"sae-probes wheel {Path(sae_probes_wheel).name}",
              "seed": seed, "test_fraction": test_fraction},
    )


def build_data_subset(
    sae_probes_wheel: Path,
    out_dir: Path,
    *,
    subsets: list[str],
    examples_per_subset: int,
    max_chars: int,
    aggregation: str,
    test_fraction: float,
    seed: int,
    name: str = "data_subset",
) -> FeatureDataset:
    """Which corpus a text comes from (the paper's Pile-subset task), one-vs-rest per subset.

    Each subset contributes ``examples_per_subset`` prompts (seeded sample), each cut to its
    first ``max_chars`` characters; every example is labelled for every subset feature.
    """
    unknown = sorted(set(subsets) - set(DATA_SUBSETS))
    if unknown:
        raise DatasetError(
            f"dataset '{name}': unknown subsets {unknown}; known: {sorted(DATA_SUBSETS)}"
        )
    if len(subsets) < 2:
        raise DatasetError(f"dataset '{name}': needs at least two subsets, got {subsets}")
    rows: list[tuple[str, str]] = []
    with open_wheel(sae_probes_wheel) as wheel:
        for subset in subsets:
            table = sae_probes_table(wheel, DATA_SUBSETS[subset]).drop_nulls("prompt").unique(
                "prompt", keep="first", maintain_order=True)
            if table.height < examples_per_subset:
                raise DatasetError(
                    f"dataset '{name}': subset '{subset}' has {table.height} prompts, fewer "
                    f"than the {examples_per_subset} requested"
                )
            sample = table.sample(examples_per_subset, seed=seed, shuffle=True)
            rows += [(subset, p[:max_chars]) for p in sample["prompt"]]
    frame = pl.DataFrame(rows, schema=["stratum", "text"], orient="row").unique(
        "text", keep="first", maintain_order=True)
    frame = _finish(frame, "whole", test_fraction, seed)
    labels = pl.concat(
        frame.select(feature=pl.lit(subset), example_id="example_id",
                     label=pl.col("stratum") == subset)
        for subset in subsets
    )
    return write_feature_dataset(
        out_dir, name=name, category="data_subset", aggregation=aggregation, examples=frame,
        labels=labels,
        meta={"description": "Data subset: which corpus (genre) a text comes from, "
              "one-vs-rest per subset, from sae-probes corpora; mean over the tokens.",
              "subsets": {s: DATA_SUBSETS[s] for s in subsets},
              "source": f"sae-probes wheel {Path(sae_probes_wheel).name}",
              "seed": seed, "test_fraction": test_fraction},
    )
