"""Language identification (the paper's natural-language category: its EuroParl task).

Each example packs one language's messages or sentences into about ``chars_per_example``
characters; one one-vs-rest feature per language; read as the mean over all tokens. Two
sources: Django's translation catalogues (offline) and the Europarl release files (the
paper's source).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from sparseprobe.datasets.catalogs import catalogue_messages
from sparseprobe.datasets.schema import (
    FeatureDataset,
    document_id,
    with_split,
    write_feature_dataset,
)
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import open_wheel

PAPER_LANGUAGES = ("es", "en", "fr", "nl", "it", "el", "de", "pt", "sv")


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


def _language_dataset(lines_of: Callable[[str], list[str]], languages: list[str], out_dir: Path,
                      *, examples_per_language: int, chars_per_example: int, where: str,
                      name: str, aggregation: str, test_fraction: float, seed: int,
                      description: str, source: str) -> FeatureDataset:
    """Each language's lines (``lines_of(language)``) packed into texts of about
    ``chars_per_example`` characters -> a one-vs-rest language-identification dataset."""
    rows = []
    for language in languages:
        texts = _packed(language, lines_of(language), chars_per_example, seed, name, where)
        rows += [(language, t) for t in texts[:examples_per_language]]
    examples = pl.DataFrame(rows, schema=["stratum", "text"], orient="row").with_columns(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        document_id=pl.col("text").map_elements(document_id, return_dtype=pl.String),
        span_start=pl.lit(0, pl.Int64),
        span_end=pl.col("text").str.len_chars().cast(pl.Int64),
    )
    examples = with_split(examples, test_fraction, seed)
    labels = pl.concat(
        examples.select(
            feature=pl.lit(language), example_id="example_id", label=pl.col("stratum") == language
        )
        for language in languages
    )
    return write_feature_dataset(
        out_dir, name=name, category="natural_language", aggregation=aggregation,
        examples=examples, labels=labels,
        meta={"description": description, "source": source, "seed": seed,
              "test_fraction": test_fraction},
    )


def _packed(language: str, lines: list[str], chars_per_example: int, seed: int, name: str,
            where: str) -> list[str]:
    texts = pack_messages(lines, chars_per_example, random.Random(f"{seed}:{language}"))
    if len(texts) < 10:
        raise DatasetError(
            f"dataset '{name}': language '{language}' yields only {len(texts)} examples "
            f"of {chars_per_example} characters from {where}"
        )
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
    with open_wheel(django_wheel) as wheel:
        return _language_dataset(
            lambda language: catalogue_messages(wheel, language), languages, out_dir,
            examples_per_language=examples_per_language, chars_per_example=chars_per_example,
            where=f"the Django catalogues ({Path(django_wheel).name})", name=name,
            aggregation=aggregation, test_fraction=test_fraction, seed=seed,
            description="Language identification, one-vs-rest per language, from Django's "
            "translation catalogues (messages packed per language).",
            source=f"django wheel {Path(django_wheel).name}",
        )


EUROPARL_FILE = re.compile(r"\.([a-z]{2})(?:\.txt)?$")


def europarl_language(path: Path) -> str:
    """The language of a Europarl release file: the suffix of ``europarl-v7.fr-en.fr`` (the
    sentence-aligned release) or of ``ep-00-01-17.fr.txt``-style names."""
    match = EUROPARL_FILE.search(Path(path).name)
    if not match:
        raise DatasetError(
            f"{path}: cannot tell the language from the name (expected a Europarl release file "
            "ending in .<language> such as europarl-v7.fr-en.fr)"
        )
    return match.group(1)


def build_natural_language_europarl(
    paths: list[Path],
    out_dir: Path,
    *,
    languages: list[str],
    examples_per_language: int,
    chars_per_example: int,
    max_lines: int | None = None,
    aggregation: str,
    test_fraction: float,
    seed: int,
    name: str = "natural_language",
) -> FeatureDataset:
    """Language identification from the Europarl corpus as released (the paper's source): one
    plain-text file of sentences per language (``europarl-v7.<pair>.<language>``; the language
    is the file's suffix), sentences shuffled and packed per language into texts of about
    ``chars_per_example`` characters, one one-vs-rest feature per language. ``max_lines``
    reads only the first lines of each file (the files are hundreds of MB)."""
    by_language: dict[str, list[str]] = {}
    for path in paths:
        language = europarl_language(path)
        if language not in languages:
            continue
        lines = []
        with open(path, encoding="utf-8") as handle:
            for i, line in enumerate(handle):
                if max_lines is not None and i >= max_lines:
                    break
                if line.strip() and not line.startswith("<"):  # skip <CHAPTER>/<SPEAKER> tags
                    lines.append(line.strip())
        by_language.setdefault(language, []).extend(lines)
    missing = [lang for lang in languages if not by_language.get(lang)]
    if missing:
        raise DatasetError(
            f"dataset '{name}': no Europarl text for {missing} in {[Path(p).name for p in paths]}"
        )
    return _language_dataset(
        by_language.__getitem__, languages, out_dir,
        examples_per_language=examples_per_language, chars_per_example=chars_per_example,
        where="the Europarl files", name=name, aggregation=aggregation,
        test_fraction=test_fraction, seed=seed,
        description="Language identification, one-vs-rest per language, from Europarl "
        "sentences packed per language (the paper's source).",
        source=f"Europarl files {sorted(Path(p).name for p in paths)}",
    )
