"""Sampling Pile contexts: windows around an occurrence, seeded bottom-k keys (a sample that
does not depend on the shard order), and writing the dataset with its checks.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from sparseprobe.datasets.pile.shards import PileReading
from sparseprobe.datasets.schema import FeatureDataset, write_unit_dataset
from sparseprobe.errors import DatasetError

_SPACE = re.compile(r"\s+")


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


def smallest_per_document(keyed: list[tuple[int, ...]], cap: int | None) -> list[tuple]:
    """The ``cap`` entries of smallest key (first field) of one document (all when None)."""
    return keyed if cap is None else sorted(keyed)[:cap]


def check_sizes(name: str, max_chars: int, per_class: int, label: str) -> None:
    """Raise DatasetError unless ``max_chars`` >= 1 and ``per_class`` (named ``label``) >= 2."""
    if max_chars < 1:
        raise DatasetError(f"dataset '{name}': max_chars must be >= 1, got {max_chars}")
    if per_class < 2:
        raise DatasetError(f"dataset '{name}': {label} must be >= 2, got {per_class}")


def check_groups(frame: pl.DataFrame, name: str, unit: str) -> None:
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


def write_pile_dataset(rows: list[tuple], out_dir: Path, reading: PileReading, *, name: str,
                       category: str, unit: str, aggregation: str, test_fraction: float,
                       seed: int, description: str, source: str, meta: dict) -> FeatureDataset:
    """rows: (feature, label, document_id, text, span_start, span_end) -> a written dataset,
    split grouped by document_id (a Pile document, or a person: ``unit``). meta.json holds
    ``description``, ``source``, what ``reading`` read, then ``meta``."""
    check_groups(pl.DataFrame(rows, orient="row", schema=[
        "feature", "label", "document_id", "text", "span_start", "span_end"]), name, unit)
    return write_unit_dataset(rows, out_dir, name=name, category=category,
                              aggregation=aggregation, test_fraction=test_fraction, seed=seed,
                              meta={"description": description, "source": source,
                                    **reading.meta(), **meta})
