"""The paper's Wikidata facts over Pile text.

``build_wikidata_pile``
    The paper's Wikidata facts: a Pile context that ends at an occurrence of a person's full
    name, read over the surname (aggregation ``max``), labelled by that person's facts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl

from sparseprobe.datasets.pile.sampling import (
    BottomK,
    check_sizes,
    context_window,
    sample_key,
    write_pile_dataset,
)
from sparseprobe.datasets.pile.shards import PileReading
from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.datasets.table import read_table
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import sha256_of

_WORD = re.compile(r"\w+")
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}
_BINARY_VALUES = {"true": True, "1": True, "false": False, "0": False}


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


_DESCRIPTION = ("Wikidata facts about the person whose full name ends the context (the paper's "
                "construction on Pile text), one-vs-rest per property value, read over the "
                "surname; split grouped by person.")


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
    check_sizes(name, max_chars, examples_per_class, "examples_per_class")
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
    reading = PileReading.of(paths, max_documents, pile_sets)
    found: dict[str, BottomK] = {}
    for index, document in enumerate(reading.documents()):
        text = document.text
        for start, end, person in find_names(text, index_of_names):
            surname = people[person].surname
            found.setdefault(person, BottomK(occurrences_per_person)).offer(
                sample_key(seed, "person", person, document.document_id, start),
                partial(_name_window, text, start, end, surname, max_chars, index))
    reading.check_read(name)
    occurrences = []  # (person, (document index, text, span_start, span_end)), sorted
    for person in sorted(found):
        occurrences += [(person, window) for window in sorted(found[person].items())]
    features, skipped = _expand(requested, occurrences, people, min_per_class)
    if not features:
        raise DatasetError(
            f"dataset '{name}': no property value of {properties} has {min_per_class} examples "
            f"on each side in the {reading.stats['documents']} Pile documents read ({len(found)} people "
            "found); read more documents (max_documents)")
    rows, available = [], {}
    for feature in features:
        pos, neg = _fact_pools(feature, occurrences, people)
        available[feature.feature] = {"positive": len(pos), "negative": len(neg)}
        if min(len(pos), len(neg)) < min_per_class:
            raise DatasetError(
                f"dataset '{name}': feature '{feature.feature}' has {len(pos)} positive and "
                f"{len(neg)} negative name occurrences in the {reading.stats['documents']} Pile "
                f"documents read, fewer than min_per_class {min_per_class} on a side; read "
                "more documents (max_documents)")
        rng = random.Random(f"{seed}:{feature.feature}")
        chosen = sorted((item, label) for label, pool in ((True, pos), (False, neg))
                        for item in rng.sample(pool, min(examples_per_class, len(pool))))
        for (person, (_, text, start, end)), label in chosen:
            rows.append((feature.feature, label, f"person:{person}", text, start, end))
    return write_pile_dataset(
        rows, out_dir, reading, name=name, category="wikidata", unit="person",
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
        description=_DESCRIPTION, source="Pile shards + facts table",
        meta={"facts": facts.name, "facts_sha256": sha256_of(facts),
              "people": {"in_facts": len(people), "found": len(found), "dropped": dropped},
              "occurrences_per_person": occurrences_per_person,
              "examples_per_class": examples_per_class, "min_per_class": min_per_class,
              "max_chars": max_chars, "skipped_values": skipped, "available": available},
    )
