"""The paper's compound-word construction over Pile text.

``build_compound_words_pile``
    The paper's compound-word construction. For a bigram ``w1-w2`` the word read is ``w2``
    directly preceded by ``w1`` (positive) or a near miss (negative): ``w2`` not preceded by
    ``w1``, or the word right after a ``w1`` that is not ``w2``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from sparseprobe.datasets.pile.sampling import (
    BottomK,
    check_sizes,
    context_window,
    sample_key,
    smallest_per_document,
    write_pile_dataset,
)
from sparseprobe.datasets.pile.shards import PileReading
from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.errors import DatasetError

# ---------------------------------------------------------------------------------------------
# Compound words

BIGRAM = "bigram"  # w2 directly preceded by w1 and one space: the positives
SECOND_ALONE = "second_alone"  # w2 not preceded by w1: negatives
AFTER_FIRST = "after_first"  # the word right after "w1 " that is not w2: negatives
_BIGRAM_FORM = re.compile(r"^(\w+)-(\w+)$")


@dataclass(frozen=True)
class Bigram:
    """A compound word ``first-second`` (the feature name), matched case-insensitively."""

    feature: str
    first: str
    second: str

    @classmethod
    def parse(cls, feature: str, name: str) -> Bigram:
        """``"social-security"`` -> Bigram; anything not ``word-word`` is an error naming it
        and the dataset ``name``."""
        match = _BIGRAM_FORM.match(feature)
        if match is None:
            raise DatasetError(f"dataset '{name}': unknown compound-word feature '{feature}': "
                               "expected two words joined by '-', e.g. 'social-security'")
        return cls(feature, match.group(1), match.group(2))


@cache
def _bigram_patterns(first: str, second: str) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    f, s = re.escape(first), re.escape(second)
    joined = re.compile(rf"(?<!\w){f}(\s+|-)({s})(?!\w)", re.IGNORECASE)
    alone = re.compile(rf"(?<!\w){s}(?!\w)", re.IGNORECASE)
    after = re.compile(rf"(?<!\w){f} (?=(\w+))", re.IGNORECASE)
    return joined, alone, after


def bigram_occurrences(text: str, bigram: Bigram) -> list[tuple[int, int, str]]:
    """Every candidate word of ``text`` for ``bigram``: (start, end, kind), in text order.

    kind BIGRAM: ``second`` preceded by ``first`` and exactly one space (case-insensitive,
    whole words); SECOND_ALONE: ``second`` not preceded by ``first``; AFTER_FIRST: the word
    right after ``first`` + one space when it is not ``second``. ``second`` joined to ``first``
    by a hyphen or other whitespace (``high-school``, ``high\\nschool``) is neither positive nor
    negative: the model sees the compound, but not as the paper's bigram.
    """
    joined, alone, after = _bigram_patterns(bigram.first, bigram.second)
    separator = {m.start(2): m.group(1) for m in joined.finditer(text)}
    out = []
    for m in alone.finditer(text):
        sep = separator.get(m.start())
        if sep is None:
            out.append((m.start(), m.end(), SECOND_ALONE))
        elif sep == " ":
            out.append((m.start(), m.end(), BIGRAM))
    second = bigram.second.lower()
    for m in after.finditer(text):
        if m.group(1).lower() != second:
            out.append((m.start(1), m.end(1), AFTER_FIRST))
    return sorted(out)


_NEXT_WORD = re.compile(r" (\w+)")


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _ends_with_word(text: str, end: int, word: str) -> bool:
    """Whether the whole word ending at ``end`` is ``word`` (lower case)."""
    begin = end - len(word)
    return (begin >= 0 and text[begin:end].lower() == word
            and (begin == 0 or not _is_word_char(text[begin - 1])))


class BigramScanner:
    """:func:`bigram_occurrences` for many bigrams in one pass over a text: one regex finds
    every first or second word, and only those are looked at (same results, much faster)."""

    def __init__(self, bigrams: Sequence[Bigram]):
        self.by_first: dict[str, list[Bigram]] = {}
        self.by_second: dict[str, list[Bigram]] = {}
        for bigram in bigrams:
            self.by_first.setdefault(bigram.first.lower(), []).append(bigram)
            self.by_second.setdefault(bigram.second.lower(), []).append(bigram)
        words = sorted(set(self.by_first) | set(self.by_second), key=lambda w: (-len(w), w))
        self.pattern = re.compile(
            r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)", re.IGNORECASE)

    @staticmethod
    def _separator(text: str, start: int) -> tuple[int, str]:
        """Where the word before ``start`` ends and what separates it: one hyphen, a run of
        whitespace, or "" (anything else)."""
        if start > 0 and text[start - 1] == "-":
            return start - 1, "-"
        end = start
        while end > 0 and text[end - 1].isspace():
            end -= 1
        return end, text[end:start]

    def scan(self, text: str) -> dict[str, list[tuple[int, int, str]]]:
        """Per feature with candidates in ``text``: (start, end, kind) in text order."""
        out: dict[str, list[tuple[int, int, str]]] = {}
        for m in self.pattern.finditer(text):
            word = m.group().lower()
            if word in self.by_second:
                end, separator = self._separator(text, m.start())
                for bigram in self.by_second[word]:
                    if not separator or not _ends_with_word(text, end, bigram.first.lower()):
                        out.setdefault(bigram.feature, []).append(
                            (m.start(), m.end(), SECOND_ALONE))
                    elif separator == " ":
                        out.setdefault(bigram.feature, []).append((m.start(), m.end(), BIGRAM))
            if word in self.by_first:
                following = _NEXT_WORD.match(text, m.end())
                if following is None:
                    continue
                for bigram in self.by_first[word]:
                    if following.group(1).lower() != bigram.second.lower():
                        out.setdefault(bigram.feature, []).append(
                            (following.start(1), following.end(1), AFTER_FIRST))
        return {feature: sorted(found) for feature, found in out.items()}


def _word_window(index: int, doc_id: str, text: str, start: int, end: int,
                 max_chars: int) -> tuple[int, int, str, str, int, int]:
    """(document index, position, document id, context ending at the word, the word's span)."""
    return (index, start, doc_id, *context_window(text, start, end, max_chars))


def _compound_counts(feature: str, available: dict[str, int], examples_per_feature: int,
                     positive_fraction: float, second_word_fraction: float,
                     min_positives: int | None, name: str, documents: int) -> dict[str, int]:
    """How many examples of each kind to take for one feature (errors name the feature)."""
    n_pos = min(max(1, round(examples_per_feature * positive_fraction)), examples_per_feature - 1)
    total = examples_per_feature
    found = available[BIGRAM]
    if found < n_pos:
        if min_positives is None or found < min_positives:
            floor = n_pos if min_positives is None else min_positives
            raise DatasetError(
                f"dataset '{name}': compound word '{feature}' has {found} positive occurrences "
                f"in the {documents} Pile documents read, fewer than the {floor} needed; read "
                "more documents (max_documents) or lower examples_per_feature/min_positives"
            )
        n_pos, total = found, max(found + 1, round(found / positive_fraction))
    n_neg = total - n_pos
    n_second = min(round(n_neg * second_word_fraction), available[SECOND_ALONE])
    n_after = min(n_neg - n_second, available[AFTER_FIRST])
    n_second = min(n_neg - n_after, available[SECOND_ALONE])
    if n_second + n_after < n_neg:
        raise DatasetError(
            f"dataset '{name}': compound word '{feature}' has {available[SECOND_ALONE]} + "
            f"{available[AFTER_FIRST]} negative occurrences in the {documents} Pile documents "
            f"read, fewer than the {n_neg} requested"
        )
    return {BIGRAM: n_pos, SECOND_ALONE: n_second, AFTER_FIRST: n_after}


_DESCRIPTION = ("Compound words (the paper's construction on Pile text): is the word read (the "
                "span) the second word of the bigram directly after its first word? Negatives: "
                "the second word alone, the word after the first word.")


def build_compound_words_pile(
    paths: Path | Sequence[Path],
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    max_documents: int | None,
    max_chars: int,
    positive_fraction: float = 0.5,
    second_word_fraction: float = 0.5,
    max_per_document: int | None = None,
    min_positives: int | None = None,
    pile_sets: list[str] | None = None,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "compound_words",
) -> FeatureDataset:
    """The paper's compound words from Pile text, one binary feature per bigram ``w1-w2``.

    Candidates (:func:`bigram_occurrences`, found by :class:`BigramScanner`): positive =
    ``w2`` right after ``w1`` and one space; negatives = ``w2`` without ``w1``, and the word
    after ``w1`` that is not ``w2``. An example is the document up to and including the word
    read (at most ``max_chars`` characters), its span that word. Per feature,
    ``examples_per_feature`` examples: ``positive_fraction`` positives, the negatives
    ``second_word_fraction`` of the first kind (the other kind fills in when one runs short);
    at most ``max_per_document`` of each kind from one document. The sample is seeded and
    streamed (:class:`BottomK`: memory stays bounded however many documents are read). Too
    few positives is an error naming the feature, unless ``min_positives`` allows taking all
    of them (negatives then keep the fraction). The split is grouped by Pile document. A
    positive says the two words are adjacent, not that the writer meant the compound.
    """
    check_sizes(name, max_chars, examples_per_feature, "examples_per_feature")
    if not 0.0 < positive_fraction < 1.0 or not 0.0 <= second_word_fraction <= 1.0:
        raise DatasetError(f"dataset '{name}': positive_fraction must be in (0, 1) and "
                           "second_word_fraction in [0, 1]")
    if not features or len(set(features)) != len(features):
        raise DatasetError(f"dataset '{name}': features must be a non-empty list without "
                           f"repeats, got {features}")
    if min_positives is not None and min_positives < 2:
        raise DatasetError(f"dataset '{name}': min_positives must be >= 2, got {min_positives}")
    bigrams = [Bigram.parse(f, name) for f in features]
    scanner = BigramScanner(bigrams)
    reading = PileReading.of(paths, max_documents, pile_sets)
    samples = {b.feature: {kind: BottomK(examples_per_feature)
                           for kind in (BIGRAM, SECOND_ALONE, AFTER_FIRST)} for b in bigrams}
    for index, document in enumerate(reading.documents()):
        text = document.text
        for feature, found in scanner.scan(text).items():
            for kind, sample in samples[feature].items():
                keyed = [(sample_key(seed, feature, document.document_id, start), start, end)
                         for start, end, k in found if k == kind]
                for key, start, end in smallest_per_document(keyed, max_per_document):
                    sample.offer(key, partial(_word_window, index, document.document_id, text,
                                              start, end, max_chars))
    reading.check_read(name)
    rows, available = [], {}
    for bigram in bigrams:
        available[bigram.feature] = {k: v.seen for k, v in samples[bigram.feature].items()}
        counts = _compound_counts(bigram.feature, available[bigram.feature],
                                  examples_per_feature, positive_fraction, second_word_fraction,
                                  min_positives, name, reading.stats["documents"])
        chosen = sorted((item, kind == BIGRAM) for kind, sample in samples[bigram.feature].items()
                        for item in sample.items()[:counts[kind]])
        for (_, _, doc_id, text, s, e), label in chosen:
            rows.append((bigram.feature, label, doc_id, text, s, e))
    return write_pile_dataset(
        rows, out_dir, reading, name=name, category="compound_words", unit="document",
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
        description=_DESCRIPTION, source="Pile shards",
        meta={"max_chars": max_chars, "examples_per_feature": examples_per_feature,
              "positive_fraction": positive_fraction,
              "second_word_fraction": second_word_fraction,
              "max_per_document": max_per_document, "min_positives": min_positives,
              "available": available},
    )
