"""Feature datasets built the paper's way from its own source: Pile text.

Users who are online can download Pile shards (``*.jsonl.zst``; one JSON object a line,
``{"text": ..., "meta": {"pile_set_name": "Pile-CC" | "Github" | "EuroParl" | ...}}``). Three
builders read them (the offline builders read sae-probes copies of the same categories instead):

``build_text_features_pile``
    The paper's 11 token-string predicates (``sparseprobe.datasets.text_features``) over the
    pre-tokens of the first ``max_chars`` characters of Pile documents.
``build_compound_words_pile``
    The paper's compound-word construction. For a bigram ``w1-w2`` the word read is ``w2``
    directly preceded by ``w1`` (positive) or a near miss (negative): ``w2`` not preceded by
    ``w1``, or the word right after a ``w1`` that is not ``w2``.
``build_wikidata_pile``
    The paper's Wikidata facts: a Pile context that ends at an occurrence of a person's full
    name, read over the surname (aggregation ``max``), labelled by that person's facts.

Shards are streamed (they are GBs): reading stops once ``max_documents`` documents are taken,
optionally only those of some ``pile_sets``. Exact duplicate documents are read once. Compound
words and Wikidata facts sample candidates as they stream by, with seeded keys (bottom-k), so
memory stays bounded however much is read and the sample does not depend on the shard order.
Every builder is a deterministic function of the shards, the config and the seed; each error
names the shard and line, the feature or the facts column at fault.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import io
import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import polars as pl
import zstandard

from sparseprobe.datasets.schema import (
    FeatureDataset,
    document_id,
    unit_examples,
    write_feature_dataset,
)
from sparseprobe.datasets.table import read_table
from sparseprobe.datasets.text_features import check_features, sample_text_features
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import sha256_of

PILE_FORMAT = '{"text": ..., "meta": {"pile_set_name": ...}} per line'
_SHARD_SUFFIXES = (".jsonl", ".ndjson", ".json")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}
_BINARY_VALUES = {"true": True, "1": True, "false": False, "0": False}

# ---------------------------------------------------------------------------------------------
# Reading shards


@dataclass(frozen=True)
class PileDocument:
    """One Pile document: ``document_id`` is a hash of its whole text (duplicates share it),
    ``where`` is ``shard:line``."""

    document_id: str
    text: str
    pile_set: str | None
    where: str


def shard_paths(paths: Path | str | Sequence[Path | str]) -> list[Path]:
    """The shard list (one path or several); each must be an existing ``.jsonl`` file,
    optionally ``.zst``/``.zstd``/``.gz`` compressed."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not items:
        raise DatasetError("no Pile shards given (paths: a list of *.jsonl.zst files)")
    out = []
    for item in items:
        path = Path(item)
        if not path.is_file():
            raise DatasetError(f"{path}: Pile shard not found")
        suffixes = [s.lower() for s in path.suffixes]
        if suffixes and suffixes[-1] in (".zst", ".zstd", ".gz"):
            suffixes = suffixes[:-1]
        if not suffixes or suffixes[-1] not in _SHARD_SUFFIXES:
            raise DatasetError(f"{path}: not a Pile shard (expected *.jsonl.zst, *.jsonl.gz or "
                               "*.jsonl)")
        out.append(path)
    return out


def _shard_lines(path: Path) -> Iterator[str]:
    suffix = path.suffix.lower()
    with open(path, "rb") as raw:
        if suffix in (".zst", ".zstd"):
            binary = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        elif suffix == ".gz":
            binary = gzip.GzipFile(fileobj=raw)
        else:
            binary = raw
        with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as text:
            yield from text


def _parse_line(line: str, where: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not a JSON object ({exc}); expected {PILE_FORMAT}") from exc
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: not a JSON object; expected {PILE_FORMAT}")
    if "text" not in record:
        raise DatasetError(f"{where}: no 'text' key (keys: {sorted(record)}); expected "
                           f"{PILE_FORMAT}")
    if not isinstance(record["text"], str):
        raise DatasetError(f"{where}: 'text' is {type(record['text']).__name__}, not a string")
    return record


def _pile_set(record: dict) -> str | None:
    meta = record.get("meta")
    value = meta.get("pile_set_name") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _shard_documents(path: Path, pile_sets: frozenset[str] | None, seen: set[str],
                     stats: dict) -> Iterator[PileDocument]:
    lines = 0
    with closing(_shard_lines(path)) as stream:
        try:
            for lineno, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                lines += 1
                where = f"{path}:{lineno}"
                record = _parse_line(line, where)
                pile_set = _pile_set(record)
                stats["pile_sets_seen"][str(pile_set)] = (
                    stats["pile_sets_seen"].get(str(pile_set), 0) + 1)
                if pile_sets is not None and pile_set not in pile_sets:
                    continue
                if not record["text"].strip():
                    stats["empty_texts"] += 1
                    continue
                ident = document_id(record["text"])
                if ident in seen:
                    stats["duplicates"] += 1
                    continue
                seen.add(ident)
                yield PileDocument(ident, record["text"], pile_set, where)
        except (zstandard.ZstdError, OSError, EOFError) as exc:
            raise DatasetError(f"{path}: cannot be decompressed ({exc})") from exc
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path}: not UTF-8 text ({exc})") from exc
    if lines == 0:
        raise DatasetError(f"{path}: empty shard (no JSON lines); expected {PILE_FORMAT}")


def iter_pile(paths: Path | Sequence[Path], *, max_documents: int | None,
              pile_sets: Sequence[str] | None = None,
              stats: dict | None = None) -> Iterator[PileDocument]:
    """Stream the documents of the shards, in order, until ``max_documents`` are taken (None:
    all). Only documents whose ``meta.pile_set_name`` is in ``pile_sets`` count when it is
    given; empty and duplicate texts are skipped. Shards after the last one needed are not
    opened. ``stats`` (a dict) receives what was read: shards, documents, skips, sets seen."""
    shards = shard_paths(paths)
    if max_documents is not None and max_documents < 1:
        raise DatasetError(f"max_documents must be >= 1, got {max_documents}")
    wanted = frozenset(pile_sets) if pile_sets is not None else None
    stats = stats if stats is not None else {}
    stats.update(shards_read=[], documents=0, duplicates=0, empty_texts=0, pile_sets_seen={})
    seen: set[str] = set()
    for path in shards:
        if max_documents is not None and stats["documents"] >= max_documents:
            return
        stats["shards_read"].append(path.name)
        with closing(_shard_documents(path, wanted, seen, stats)) as documents:
            for document in documents:
                stats["documents"] += 1
                yield document
                if max_documents is not None and stats["documents"] >= max_documents:
                    return


def _no_documents(paths: Sequence[Path], pile_sets: Sequence[str] | None, stats: dict) -> str:
    shards = ", ".join(Path(p).name for p in paths)
    if pile_sets is not None:
        return (f"{shards}: no documents of pile_sets {sorted(pile_sets)} (sets seen: "
                f"{dict(sorted(stats['pile_sets_seen'].items()))})")
    return f"{shards}: no non-empty documents"


def context_window(text: str, start: int, end: int, max_chars: int) -> tuple[str, int, int]:
    """The text up to and including ``text[start:end]``, at most ``max_chars`` characters (the
    read span is kept whole), not starting inside a word when a space allows it. Returns the
    window and the span's position in it."""
    begin = min(max(0, end - max_chars), start)
    if 0 < begin < start and not text[begin - 1].isspace():
        space = _SPACE.search(text, begin, start)
        if space is not None:
            begin = space.end()
    return text[begin:end], start - begin, end - begin


def sample_key(*parts: object) -> int:
    """A seeded 64-bit key for a candidate (seed, feature, document, position...): ordering
    candidates by key is a seeded shuffle that does not depend on the order they are read in."""
    joined = "\x1f".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.blake2b(joined, digest_size=8).digest(), "big")


class BottomK:
    """The ``k`` items of smallest key offered so far: a uniform seeded sample of a stream in
    bounded memory. ``seen`` counts every item offered."""

    def __init__(self, k: int):
        self.k = k
        self.seen = 0
        self._heap: list[tuple[int, int, object]] = []  # (-key, arrival, item): a max-heap

    def offer(self, key: int, make: Callable[[], object]) -> None:
        """Offer an item; ``make()`` builds it only when it enters the sample."""
        self.seen += 1
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, (-key, self.seen, make()))
        elif key < -self._heap[0][0]:
            heapq.heapreplace(self._heap, (-key, self.seen, make()))

    def items(self) -> list:
        """The sample, smallest key first."""
        return [item for _, _, item in sorted(self._heap, key=lambda e: (-e[0], e[1]))]


def _smallest_per_document(keyed: list[tuple[int, ...]], cap: int | None) -> list[tuple]:
    """The ``cap`` entries of smallest key (first field) of one document (all when None)."""
    return keyed if cap is None else sorted(keyed)[:cap]


def _check_sizes(name: str, max_chars: int, per_class: int, label: str) -> None:
    if max_chars < 1:
        raise DatasetError(f"dataset '{name}': max_chars must be >= 1, got {max_chars}")
    if per_class < 2:
        raise DatasetError(f"dataset '{name}': {label} must be >= 2, got {per_class}")


def _shards_meta(paths: Sequence[Path], pile_sets: Sequence[str] | None, stats: dict) -> dict:
    return {"shards": [Path(p).name for p in paths],
            "pile_sets": sorted(pile_sets) if pile_sets is not None else None,
            "read": {k: stats[k] for k in ("shards_read", "documents", "duplicates",
                                           "empty_texts")}}


def _check_groups(frame: pl.DataFrame, name: str, unit: str) -> None:
    """Each class of each feature must come from at least 2 groups, or no grouped split can put
    it on both sides; the error names the feature."""
    groups = frame.group_by("feature", "label", maintain_order=True).agg(
        pl.len().alias("examples"), pl.col("document_id").n_unique().alias("groups"))
    for row in groups.filter(pl.col("groups") < 2).iter_rows(named=True):
        kind = "positive" if row["label"] else "negative"
        raise DatasetError(
            f"dataset '{name}': feature '{row['feature']}' has {row['examples']} {kind} "
            f"examples from {row['groups']} {unit}; a split grouped by {unit} needs at least 2 "
            "(read more documents: max_documents)")


def _finish(rows: list[tuple], out_dir: Path, *, name: str, category: str, aggregation: str,
            test_fraction: float, seed: int, meta: dict, unit: str) -> FeatureDataset:
    """rows: (feature, label, document_id, text, span_start, span_end) -> a written dataset,
    split grouped by document_id (a Pile document, or a person: ``unit``)."""
    _check_groups(pl.DataFrame(rows, orient="row", schema=[
        "feature", "label", "document_id", "text", "span_start", "span_end"]), name, unit)
    frame = unit_examples(rows, test_fraction, seed)
    return write_feature_dataset(
        out_dir, name=name, category=category, aggregation=aggregation, examples=frame,
        labels=frame.select("feature", "example_id", "label"),
        meta={**meta, "seed": seed, "test_fraction": test_fraction},
    )


# ---------------------------------------------------------------------------------------------
# Text features


def build_text_features_pile(
    paths: Path | Sequence[Path],
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float,
    max_documents: int | None,
    max_chars: int,
    pile_sets: list[str] | None = None,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "text_features",
) -> FeatureDataset:
    """The paper's token-string predicates on pre-tokens of the first ``max_chars`` characters
    of the first ``max_documents`` Pile documents (of ``pile_sets`` if given). Per predicate,
    ``examples_per_feature`` pre-tokens, ``positive_fraction`` of them positive; the split is
    grouped by Pile document. A label says what the pre-token's string is, nothing about what
    the model does with it."""
    check_features(features, name)
    _check_sizes(name, max_chars, examples_per_feature, "examples_per_feature")
    shards = shard_paths(paths)
    stats: dict = {}
    documents = [(d.document_id, d.text[:max_chars]) for d in iter_pile(
        shards, max_documents=max_documents, pile_sets=pile_sets, stats=stats)]
    if not documents:
        raise DatasetError(f"dataset '{name}': {_no_documents(shards, pile_sets, stats)}")
    return sample_text_features(
        documents, out_dir, features=features, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, aggregation=aggregation,
        test_fraction=test_fraction, seed=seed, name=name,
        source=f"the {len(documents)} Pile documents read",
        meta={"description": "The paper's token-string predicates, on pre-tokens of Pile "
              "documents (see sparseprobe.datasets.text_features).",
              "source": "Pile shards", **_shards_meta(shards, pile_sets, stats),
              "max_chars": max_chars, "positive_fraction": positive_fraction,
              "seed": seed, "test_fraction": test_fraction},
    )


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


def parse_bigram(feature: str, name: str) -> Bigram:
    """``"social-security"`` -> Bigram; anything not ``word-word`` is an error naming it."""
    match = _BIGRAM_FORM.match(feature)
    if match is None:
        raise DatasetError(f"dataset '{name}': unknown compound-word feature '{feature}': "
                           "expected two words joined by '-', e.g. 'social-security'")
    return Bigram(feature, match.group(1), match.group(2))


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
    _check_sizes(name, max_chars, examples_per_feature, "examples_per_feature")
    if not 0.0 < positive_fraction < 1.0 or not 0.0 <= second_word_fraction <= 1.0:
        raise DatasetError(f"dataset '{name}': positive_fraction must be in (0, 1) and "
                           "second_word_fraction in [0, 1]")
    if not features or len(set(features)) != len(features):
        raise DatasetError(f"dataset '{name}': features must be a non-empty list without "
                           f"repeats, got {features}")
    if min_positives is not None and min_positives < 2:
        raise DatasetError(f"dataset '{name}': min_positives must be >= 2, got {min_positives}")
    bigrams = [parse_bigram(f, name) for f in features]
    scanner = BigramScanner(bigrams)
    shards = shard_paths(paths)
    stats: dict = {}
    samples = {b.feature: {kind: BottomK(examples_per_feature)
                           for kind in (BIGRAM, SECOND_ALONE, AFTER_FIRST)} for b in bigrams}
    for index, document in enumerate(iter_pile(shards, max_documents=max_documents,
                                               pile_sets=pile_sets, stats=stats)):
        text = document.text
        for feature, found in scanner.scan(text).items():
            for kind, sample in samples[feature].items():
                keyed = [(sample_key(seed, feature, document.document_id, start), start, end)
                         for start, end, k in found if k == kind]
                for key, start, end in _smallest_per_document(keyed, max_per_document):
                    sample.offer(key, partial(_word_window, index, document.document_id, text,
                                              start, end, max_chars))
    if stats.get("documents", 0) == 0:
        raise DatasetError(f"dataset '{name}': {_no_documents(shards, pile_sets, stats)}")
    rows, available = [], {}
    for bigram in bigrams:
        available[bigram.feature] = {k: v.seen for k, v in samples[bigram.feature].items()}
        counts = _compound_counts(bigram.feature, available[bigram.feature],
                                  examples_per_feature, positive_fraction, second_word_fraction,
                                  min_positives, name, stats["documents"])
        chosen = sorted((item, kind == BIGRAM) for kind, sample in samples[bigram.feature].items()
                        for item in sample.items()[:counts[kind]])
        for (_, _, doc_id, text, s, e), label in chosen:
            rows.append((bigram.feature, label, doc_id, text, s, e))
    return _finish(
        rows, out_dir, name=name, category="compound_words", aggregation=aggregation,
        test_fraction=test_fraction, seed=seed, unit="document",
        meta={"description": "Compound words (the paper's construction on Pile text): is the "
              "word read (the span) the second word of the bigram directly after its first "
              "word? Negatives: the second word alone, the word after the first word.",
              "source": "Pile shards", **_shards_meta(shards, pile_sets, stats),
              "max_chars": max_chars, "examples_per_feature": examples_per_feature,
              "positive_fraction": positive_fraction,
              "second_word_fraction": second_word_fraction,
              "max_per_document": max_per_document, "min_positives": min_positives,
              "available": available},
    )


# ---------------------------------------------------------------------------------------------
# Wikidata facts


@dataclass(frozen=True)
class FactFeature:
    """One binary feature over a facts column: ``column`` itself when the column is binary
    (``is_alive``), else one value of it one-vs-rest (``occupation:athlete``)."""

    feature: str
    column: str
    value: str | None  # None: a binary column


@dataclass(frozen=True)
class Person:
    """A person of the facts table: full name, the span of the surname in it, and the known
    facts per column (a bool for binary columns, a set of values otherwise; absent = unknown)."""

    name: str
    surname: tuple[int, int]
    facts: dict


def surname_span(name: str) -> tuple[int, int]:
    """Character span of the surname in a full name: its last word, with the word before a
    generational suffix (``Martin Luther King Jr.`` -> ``King Jr.``)."""
    words = [m.span() for m in re.finditer(r"\S+", name)]
    first = len(words) - 1
    if first > 1 and name[slice(*words[-1])].rstrip(".,").lower() in _NAME_SUFFIXES:
        first -= 1
    return words[first][0], words[-1][1]


def _is_binary(values: pl.Series) -> bool:
    if values.dtype == pl.Boolean:
        return True
    if isinstance(values.dtype, (pl.List, pl.Array)):
        return False
    seen = set(values.drop_nulls().cast(pl.String).str.strip_chars().str.to_lowercase())
    return bool(seen) and seen <= set(_BINARY_VALUES)


def _cell(value, binary: bool):
    """A facts cell as a bool (binary column), a frozenset of values, or None (unknown)."""
    if value is None:
        return None
    if binary:
        return value if isinstance(value, bool) else _BINARY_VALUES[str(value).strip().lower()]
    items = value if isinstance(value, (list, tuple)) else [value]
    values = frozenset(str(v).strip() for v in items if v is not None and str(v).strip())
    return values or None


def read_people(table: pl.DataFrame, name_column: str, columns: Sequence[str],
                min_name_words: int) -> tuple[dict[str, Person], dict[str, bool], dict]:
    """People of a facts table by full name (whitespace normalised). Names listed twice are
    dropped (ambiguous), as are names of fewer than ``min_name_words`` words or not starting
    with a letter or digit. Returns the people, which columns are binary, and counts of what
    was dropped."""
    binary = {c: _is_binary(table[c]) for c in columns}
    names = [" ".join(str(n).split()) if n is not None else "" for n in table[name_column]]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    people, dropped = {}, {"ambiguous": 0, "short_or_unmatchable": 0}
    cells = {c: table[c].to_list() for c in columns}
    for row, n in enumerate(names):
        if counts[n] > 1 and n:
            dropped["ambiguous"] += 1
        elif len(n.split()) < min_name_words or not _WORD.match(n):
            dropped["short_or_unmatchable"] += 1
        else:
            facts_of = {c: _cell(cells[c][row], binary[c]) for c in columns}
            people[n] = Person(n, surname_span(n),
                               {c: v for c, v in facts_of.items() if v is not None})
    return people, binary, dropped


def find_names(text: str, index: dict[str, list[str]]) -> list[tuple[int, int, str]]:
    """Occurrences (start, end, name) of the indexed full names in ``text``: exact case, whole
    words, the longest name at a position, no overlaps. ``index`` maps a name's first word to
    its names, longest first."""
    out, free = [], 0
    for word in _WORD.finditer(text):
        start = word.start()
        if start < free or word.group() not in index:
            continue
        for name in index[word.group()]:
            end = start + len(name)
            if text.startswith(name, start) and (end == len(text) or not (
                    text[end].isalnum() or text[end] == "_")):
                out.append((start, end, name))
                free = end
                break
    return out


def _name_window(text: str, start: int, end: int, surname: tuple[int, int], max_chars: int,
                 index: int) -> tuple[int, str, int, int]:
    """(document index, context ending at the name, span of the surname in it)."""
    window, name_start, _ = context_window(text, start, end, max_chars)
    return index, window, name_start + surname[0], name_start + surname[1]


def _name_index(names: Sequence[str]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name in names:
        index.setdefault(_WORD.match(name).group(), []).append(name)
    return {k: sorted(v, key=lambda n: (-len(n), n)) for k, v in index.items()}


def _fact_features(properties: Sequence[str], binary: dict[str, bool], facts: Path,
                   name: str) -> list[FactFeature | str]:
    """Explicit features, and the names of multi-valued columns to expand per value."""
    out: list[FactFeature | str] = []
    for entry in properties:
        if entry in binary:
            out.append(FactFeature(entry, entry, None) if binary[entry] else entry)
            continue
        column, _, value = entry.partition(":")
        if binary.get(column, True) or not value:
            raise DatasetError(
                f"dataset '{name}': unknown property '{entry}' for {facts}: expected a column "
                f"({sorted(binary)}) or 'column:value' of a multi-valued column")
        out.append(FactFeature(entry, column, value))
    return out


def _label(person: Person, feature: FactFeature) -> bool | None:
    known = person.facts.get(feature.column)
    if known is None:
        return None
    return known if feature.value is None else feature.value in known


def _fact_pools(feature: FactFeature, occurrences: list[tuple[str, tuple]],
                people: dict[str, Person]) -> tuple[list, list]:
    pools: tuple[list, list] = ([], [])
    for item in occurrences:
        label = _label(people[item[0]], feature)
        if label is not None:
            pools[0 if label else 1].append(item)
    return pools


def _expand(columns: list[FactFeature | str], occurrences: list, people: dict[str, Person],
            min_per_class: int) -> tuple[list[FactFeature], dict[str, list[str]]]:
    """Expand multi-valued columns into one feature per value with at least ``min_per_class``
    occurrences on each side; returns the features and the values skipped per column."""
    features, skipped = [], {}
    for entry in columns:
        if isinstance(entry, FactFeature):
            features.append(entry)
            continue
        values = sorted({v for p, *_ in occurrences for v in people[p].facts.get(entry, ())})
        for value in values:
            feature = FactFeature(f"{entry}:{value}", entry, value)
            pos, neg = _fact_pools(feature, occurrences, people)
            if min(len(pos), len(neg)) >= min_per_class:
                features.append(feature)
            else:
                skipped.setdefault(entry, []).append(value)
    return features, skipped


def build_wikidata_pile(
    paths: Path | Sequence[Path],
    out_dir: Path,
    *,
    facts: Path | str,
    properties: list[str],
    examples_per_class: int,
    max_documents: int | None,
    max_chars: int,
    pile_sets: list[str] | None = None,
    name_column: str = "name",
    occurrences_per_person: int = 1,
    min_per_class: int = 5,
    min_name_words: int = 2,
    aggregation: str = "max",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "wikidata",
) -> FeatureDataset:
    """The paper's Wikidata facts: Pile contexts ending at a person's full name.

    ``facts`` is a table (CSV/JSONL/Parquet) with ``name_column`` and one column per property.
    A binary column (``is_alive``: true/false or 0/1) is one feature; a multi-valued one
    (``occupation``, a string or a list per person) gives one feature per value, one-vs-rest
    among the people whose value is known: ``occupation`` lists every value with at least
    ``min_per_class`` examples on each side, ``occupation:athlete`` asks for one value (an error
    when it has fewer). An example is the document up to the end of one occurrence of a full
    name (exact case, whole words; at most ``max_chars`` characters), read over the surname;
    at most ``occurrences_per_person`` occurrences per person (seeded), at most
    ``examples_per_class`` per class and feature. The split is grouped by person (document_id
    ``person:<name>``), so a probe cannot pass by recognising a name seen in training. A label
    is the facts table's claim about whoever bears the name; namesakes are not told apart.
    """
    facts = Path(facts)
    _check_sizes(name, max_chars, examples_per_class, "examples_per_class")
    if not properties or len(set(properties)) != len(properties):
        raise DatasetError(f"dataset '{name}': properties must be a non-empty list without "
                           f"repeats, got {properties}")
    if occurrences_per_person < 1 or min_per_class < 2:
        raise DatasetError(f"dataset '{name}': occurrences_per_person must be >= 1 and "
                           "min_per_class >= 2")
    table = read_table(facts)
    if name_column not in table.columns:
        raise DatasetError(f"{facts}: no column '{name_column}' (the people's full names; "
                           f"columns: {table.columns})")
    columns = sorted({p if p in table.columns else p.partition(":")[0] for p in properties})
    for entry in properties:
        column = entry if entry in table.columns else entry.partition(":")[0]
        if column not in table.columns:
            raise DatasetError(f"dataset '{name}': unknown property '{entry}': {facts} has no "
                               f"column '{column}' (columns: {table.columns})")
    people, binary, dropped = read_people(table, name_column, columns, min_name_words)
    requested = _fact_features(properties, binary, facts, name)
    if not people:
        raise DatasetError(f"{facts}: no usable people (names of at least {min_name_words} "
                           f"words, listed once) in column '{name_column}'")
    index_of_names = _name_index(sorted(people))
    shards = shard_paths(paths)
    stats: dict = {}
    found: dict[str, BottomK] = {}
    for index, document in enumerate(iter_pile(shards, max_documents=max_documents,
                                               pile_sets=pile_sets, stats=stats)):
        text = document.text
        for start, end, person in find_names(text, index_of_names):
            surname = people[person].surname
            found.setdefault(person, BottomK(occurrences_per_person)).offer(
                sample_key(seed, "person", person, document.document_id, start),
                partial(_name_window, text, start, end, surname, max_chars, index))
    if stats.get("documents", 0) == 0:
        raise DatasetError(f"dataset '{name}': {_no_documents(shards, pile_sets, stats)}")
    occurrences = []  # (person, (document index, text, span_start, span_end)), sorted
    for person in sorted(found):
        occurrences += [(person, window) for window in sorted(found[person].items())]
    features, skipped = _expand(requested, occurrences, people, min_per_class)
    if not features:
        raise DatasetError(
            f"dataset '{name}': no property value of {properties} has {min_per_class} examples "
            f"on each side in the {stats['documents']} Pile documents read ({len(found)} people "
            "found); read more documents (max_documents)")
    rows, available = [], {}
    for feature in features:
        pos, neg = _fact_pools(feature, occurrences, people)
        available[feature.feature] = {"positive": len(pos), "negative": len(neg)}
        if min(len(pos), len(neg)) < min_per_class:
            raise DatasetError(
                f"dataset '{name}': feature '{feature.feature}' has {len(pos)} positive and "
                f"{len(neg)} negative name occurrences in the {stats['documents']} Pile "
                f"documents read, fewer than min_per_class {min_per_class} on a side; read "
                "more documents (max_documents)")
        rng = random.Random(f"{seed}:{feature.feature}")
        chosen = sorted((item, label) for label, pool in ((True, pos), (False, neg))
                        for item in rng.sample(pool, min(examples_per_class, len(pool))))
        for (person, (_, text, start, end)), label in chosen:
            rows.append((feature.feature, label, f"person:{person}", text, start, end))
    return _finish(
        rows, out_dir, name=name, category="wikidata", aggregation=aggregation,
        test_fraction=test_fraction, seed=seed, unit="person",
        meta={"description": "Wikidata facts about the person whose full name ends the "
              "context (the paper's construction on Pile text), one-vs-rest per property "
              "value, read over the surname; split grouped by person.",
              "source": "Pile shards + facts table", **_shards_meta(shards, pile_sets, stats),
              "facts": facts.name, "facts_sha256": sha256_of(facts),
              "people": {"in_facts": len(people), "found": len(found), "dropped": dropped},
              "occurrences_per_person": occurrences_per_person,
              "examples_per_class": examples_per_class, "min_per_class": min_per_class,
              "max_chars": max_chars, "skipped_values": skipped, "available": available},
    )
