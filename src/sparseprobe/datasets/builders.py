"""The registry of feature-dataset builders, and the natural-language builder.

- ``natural_language``: language identification from Django's translation catalogues. Each
  example packs one language's messages into about ``chars_per_example`` characters; one
  one-vs-rest feature per language; read as the mean over all tokens (the paper's EuroParl task).
  ``natural_language_europarl``: the same from the Europarl release files (the paper's source).
- ``compound_words``, ``wikidata``, ``code_language``, ``data_subset``: sae-probes sets
  (``sparseprobe.datasets.sae_probes``).
- ``code_language_pygments``: one-vs-rest over the languages of Pygments' example files (PyPI
  sdist); ``code_language_github``: the same over GitHub code dumps you provide, the paper's
  source (``sparseprobe.datasets.code``, a package).
- ``text_features``: the paper's token-string predicates (``sparseprobe.datasets.text_features``).
- ``latex``: regions of LaTeX source (math, sub/superscripts, fractions, ...) in Biopython's
  LaTeX documentation (PyPI sdist); ``latex_arxiv``: the same over arXiv e-prints you provide
  (``sparseprobe.datasets.latex``, a package).
- ``position``: a token's position, as a regression target and as bins
  (``sparseprobe.datasets.position``).
- ``part_of_speech``, ``morphology``: the gold-tagged Brown corpus mapped to UPOS / UD
  features (``part_of_speech_morphology``: both on the same words, one dataset);
  ``*_conllu``: the paper's UD English EWT (CoNLL-U files you provide)
  (``sparseprobe.datasets.tagged``, a package: reader, labels, sampling).
- ``dependencies``: SILVER dependency relations, Brown sentences parsed by spaCy's
  en_core_web_sm (ClearNLP labels, not UD; ``sparseprobe.datasets.silver``).
- ``text_features_pile``, ``compound_words_pile``, ``wikidata_pile``: the paper's own
  constructions from Pile shards you provide (``sparseprobe.datasets.pile``, a package).
- ``table``: your own CSV/Parquet/JSONL file; ``class_table``: one-vs-rest over a class column,
  which also reads the paper's original corpora (Pile shards, Europarl, GitHub code dumps)
  (``sparseprobe.datasets.table``).

All are deterministic functions of their source, the config and the seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import polars as pl

from sparseprobe.datasets.catalogs import catalogue_messages
from sparseprobe.datasets.code import build_code_language, build_code_language_github
from sparseprobe.datasets.latex import build_latex, build_latex_arxiv
from sparseprobe.datasets.pile import (
    build_compound_words_pile,
    build_text_features_pile,
    build_wikidata_pile,
)
from sparseprobe.datasets.position import build_position, build_position_pile
from sparseprobe.datasets.sae_probes import build_binary_sets, build_data_subset
from sparseprobe.datasets.schema import (
    FeatureDataset,
    document_id,
    with_split,
    write_feature_dataset,
)
from sparseprobe.datasets.table import build_class_table, build_table
from sparseprobe.datasets.tagged import (
    build_dependencies_conllu,
    build_morphology_brown,
    build_morphology_conllu,
    build_part_of_speech_brown,
    build_part_of_speech_conllu,
    build_part_of_speech_morphology_brown,
)
from sparseprobe.datasets.silver import build_dependencies_silver
from sparseprobe.datasets.text_features import build_text_features
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


BUILDERS = {
    "natural_language": build_natural_language,
    "natural_language_europarl": build_natural_language_europarl,
    "compound_words": partial(build_binary_sets, category="compound_words"),
    "wikidata": partial(build_binary_sets, category="wikidata"),
    "code_language": partial(build_binary_sets, category="code_language"),
    "code_language_pygments": build_code_language,
    "code_language_github": build_code_language_github,
    "data_subset": build_data_subset,
    "text_features": build_text_features,
    "position": build_position,
    "position_pile": build_position_pile,
    "latex": build_latex,
    "latex_arxiv": build_latex_arxiv,
    "part_of_speech": build_part_of_speech_brown,
    "morphology": build_morphology_brown,
    "part_of_speech_morphology": build_part_of_speech_morphology_brown,
    "dependencies": build_dependencies_silver,
    "part_of_speech_conllu": build_part_of_speech_conllu,
    "morphology_conllu": build_morphology_conllu,
    "dependencies_conllu": build_dependencies_conllu,
    "text_features_pile": build_text_features_pile,
    "compound_words_pile": build_compound_words_pile,
    "wikidata_pile": build_wikidata_pile,
    "table": build_table,
    "class_table": build_class_table,
}
"""Builder per config ``builder`` name: called as builder(source, out_dir, test_fraction=...,
seed=..., name=..., **the dataset's config entry); ``source`` is the pinned archive, the user's
table, or (``*_conllu``) the list of CoNLL-U files."""
