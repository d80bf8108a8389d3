"""Code windows: cutting source files into windows, balancing languages and splitting by
file (shared by both code-language builders).

Windows, balance and split (both builders)
------------------------------------------
- Files are decoded as UTF-8 (others skipped and counted), newlines normalised; identical
  file contents are kept once.
- A file is cut into consecutive windows of at most ``chars_per_example`` characters, each
  ending at a line end when one lies in the window's second half. A window is kept when its
  span (after ``skip_chars``) has at least ``min_span_chars`` characters (default: a quarter of
  a full window's span) and some non-space character, so a file's short tail and tiny files
  are dropped. At most ``max_windows_per_file`` windows per file (a seeded choice, kept in file
  order), so a big file does not dominate; a window whose text already occurred is dropped.
- Every language gets the same number of examples, ``min(examples_per_language, fewest windows
  any language has)``, taken round-robin over its files in a seeded order (one window from
  every file before a second from any).
- Split: per language, whole files go to the test side until its windows are closest to
  ``test_fraction`` of the language's examples, with at least one file on each side. No file
  has windows on both sides. (The shared stratified group splitter can leave a language with
  two or three files entirely on one side; this split cannot.) ``document_id`` is a hash of the
  file's path and content.

Deterministic: the same source, arguments and seed give byte-identical parquet files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sparseprobe.datasets.schema import FeatureDataset, document_id, write_feature_dataset
from sparseprobe.errors import DatasetError

PAPER_CODE_LANGUAGES = ("C", "C++", "Go", "HTML", "Java", "JavaScript", "PHP", "Python", "XML")

MIN_FILES_PER_LANGUAGE = 2
"""A language needs one file on each side of the grouped split."""


@dataclass(frozen=True)
class CodeFile:
    """One source file: its language label, where it came from and its text."""

    language: str
    path: str
    text: str


@dataclass(frozen=True)
class Windowing:
    """How files are cut into examples."""

    chars_per_example: int
    skip_chars: int
    max_windows_per_file: int
    min_span_chars: int

    @classmethod
    def checked(cls, name: str, chars_per_example: int, skip_chars: int,
                max_windows_per_file: int, min_span_chars: int | None) -> Windowing:
        """Validated settings; ``min_span_chars`` None -> a quarter of a full window's span."""
        if skip_chars < 0 or chars_per_example <= skip_chars:
            raise DatasetError(
                f"dataset '{name}': chars_per_example ({chars_per_example}) must exceed "
                f"skip_chars ({skip_chars}) >= 0"
            )
        if max_windows_per_file < 1:
            raise DatasetError(f"dataset '{name}': max_windows_per_file must be >= 1, "
                               f"got {max_windows_per_file}")
        if min_span_chars is None:
            min_span_chars = max(1, (chars_per_example - skip_chars) // 4)
        if min_span_chars < 1:
            raise DatasetError(f"dataset '{name}': min_span_chars must be >= 1")
        return cls(chars_per_example, skip_chars, max_windows_per_file, min_span_chars)


def decode_source(raw: bytes) -> str | None:
    """UTF-8 text (a BOM dropped, CRLF/CR -> LF), or None when the bytes are not UTF-8."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def cut_windows(text: str, chars_per_example: int) -> list[str]:
    """Consecutive windows of at most ``chars_per_example`` characters covering ``text``.

    A window ends just after the last newline of its second half when there is one, so windows
    start at line starts (a very long line is cut where the window is full).
    """
    windows, start, n = [], 0, len(text)
    while start < n:
        end = min(n, start + chars_per_example)
        if end < n:
            newline = text.rfind("\n", start + chars_per_example // 2, end)
            if newline != -1:
                end = newline + 1
        windows.append(text[start:end])
        start = end
    return windows


def file_windows(file: CodeFile, windowing: Windowing, seed: int) -> list[str]:
    """The windows of one file that qualify, at most ``max_windows_per_file`` (seeded)."""
    kept = [
        w for w in cut_windows(file.text, windowing.chars_per_example)
        if len(w) - windowing.skip_chars >= windowing.min_span_chars
        and w[windowing.skip_chars:].strip()
    ]
    if len(kept) <= windowing.max_windows_per_file:
        return kept
    rng = random.Random(f"{seed}:windows:{file.language}:{file.path}")
    chosen = sorted(rng.sample(range(len(kept)), windowing.max_windows_per_file))
    return [kept[i] for i in chosen]


@dataclass(frozen=True)
class Window:
    """One window of a source file, with its language and the document it counts as."""

    language: str
    document: str
    path: str
    text: str


def windows_by_language(
    files: list[CodeFile], languages: list[str], windowing: Windowing, seed: int
) -> dict[str, list[list[Window]]]:
    """Per language, per file (in path order) the file's windows; duplicates dropped."""
    seen_texts: set[str] = set()
    seen_windows: set[str] = set()
    by_language: dict[str, list[list[Window]]] = {language: [] for language in languages}
    for file in sorted(files, key=lambda f: (languages.index(f.language), f.path)):
        if file.text in seen_texts:
            continue
        seen_texts.add(file.text)
        document = document_id(f"{file.path}\n{file.text}")
        windows = []
        for text in file_windows(file, windowing, seed):
            if text not in seen_windows:
                seen_windows.add(text)
                windows.append(Window(file.language, document, file.path, text))
        if windows:
            by_language[file.language].append(windows)
    return by_language


def check_supply(name: str, origin: str, by_language: dict[str, list[list[Window]]],
                  min_examples: int) -> None:
    """Every language needs ``min_examples`` windows from two files; the error names them all."""
    short = [
        f"'{language}' ({sum(len(w) for w in files)} windows from {len(files)} files)"
        for language, files in by_language.items()
        if len(files) < MIN_FILES_PER_LANGUAGE or sum(len(w) for w in files) < min_examples
    ]
    if short:
        raise DatasetError(
            f"dataset '{name}': too little code in {origin} for language {', '.join(short)}: "
            f"each language needs at least {min_examples} usable windows from "
            f"{MIN_FILES_PER_LANGUAGE} files; drop it from languages, lower chars_per_example, "
            "skip_chars or min_examples_per_language, or raise max_windows_per_file"
        )


def _round_robin(files: list[list[Window]], n: int, rng: random.Random) -> list[Window]:
    """``n`` windows: one from every file (in a seeded file order) before a second from any."""
    order = list(files)
    rng.shuffle(order)
    picked, depth = [], 0
    while len(picked) < n:
        layer = [windows[depth] for windows in order if depth < len(windows)]
        picked += layer[: n - len(picked)]
        depth += 1
    return picked


def _test_documents(windows: list[Window], test_fraction: float,
                    rng: random.Random) -> set[str]:
    """Whole files for the test side: windows closest to ``test_fraction``, >= 1 file a side."""
    counts: dict[str, int] = {}
    for window in windows:
        counts[window.document] = counts.get(window.document, 0) + 1
    documents = list(counts)
    rng.shuffle(documents)
    target = test_fraction * len(windows)
    first = min(documents, key=lambda d: abs(counts[d] - target))
    test, total = {first}, counts[first]
    for document in documents:
        if document in test or len(test) == len(documents) - 1:
            continue
        if abs(total + counts[document] - target) < abs(total - target):
            test.add(document)
            total += counts[document]
    return test


def assemble_windows(
    name: str, origin: str, files: list[CodeFile], languages: list[str], *,
    examples_per_language: int, windowing: Windowing, min_examples: int,
    aggregation: str, test_fraction: float, seed: int, out_dir: Path, meta: dict,
) -> FeatureDataset:
    """Windows -> balanced examples -> grouped split -> one-vs-rest labels -> written dataset."""
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"dataset '{name}': test_fraction must be in (0, 1), "
                           f"got {test_fraction}")
    if examples_per_language < MIN_FILES_PER_LANGUAGE:
        raise DatasetError(f"dataset '{name}': examples_per_language must be >= "
                           f"{MIN_FILES_PER_LANGUAGE}, got {examples_per_language}")
    by_language = windows_by_language(files, languages, windowing, seed)
    check_supply(name, origin, by_language, min_examples)
    available = {lang: sum(len(w) for w in files) for lang, files in by_language.items()}
    n = min(examples_per_language, *available.values())
    rows, counts = [], {}
    for language in languages:
        picked = _round_robin(by_language[language], n, random.Random(f"{seed}:pick:{language}"))
        test = _test_documents(picked, test_fraction, random.Random(f"{seed}:split:{language}"))
        rows += [(w.document, w.text, w.language, "test" if w.document in test else "train")
                 for w in picked]
        counts[language] = {
            "files": len(by_language[language]),
            "windows": available[language],
            "examples": n,
            "files_used": len({w.document for w in picked}),
            "test_examples": sum(w.document in test for w in picked),
        }
    examples = pl.DataFrame(
        rows, schema=["document_id", "text", "stratum", "split"], orient="row"
    ).with_columns(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        span_start=pl.lit(windowing.skip_chars, pl.Int64),
        span_end=pl.col("text").str.len_chars().cast(pl.Int64),
    )
    labels = pl.concat(
        examples.select(feature=pl.lit(language), example_id="example_id",
                        label=pl.col("stratum") == language)
        for language in languages
    )
    return write_feature_dataset(
        out_dir, name=name, category="code_language", aggregation=aggregation,
        examples=examples, labels=labels,
        meta={
            **meta,
            "languages": languages,
            "examples_per_language": n,
            "per_language": counts,
            "chars_per_example": windowing.chars_per_example,
            "skip_chars": windowing.skip_chars,
            "max_windows_per_file": windowing.max_windows_per_file,
            "min_span_chars": windowing.min_span_chars,
            "seed": seed,
            "test_fraction": test_fraction,
        },
    )


def checked_languages(name: str, languages: list[str], extra: list[str] | None) -> list[str]:
    """``languages`` + ``extra``; raises DatasetError on a repeat or fewer than two."""
    wanted = list(languages) + list(extra or [])
    duplicates = sorted({x for x in wanted if wanted.count(x) > 1})
    if duplicates:
        raise DatasetError(f"dataset '{name}': languages listed twice: {duplicates}")
    if len(wanted) < 2:
        raise DatasetError(f"dataset '{name}': needs at least two languages, got {wanted}")
    return wanted


@dataclass(frozen=True)
class CodeLanguageRequest:
    """What a code-language dataset is asked besides its source and name (one config entry):
    the languages (``languages`` then ``extra_languages``), ``examples_per_language``, the
    windows (:class:`Windowing`), the least examples a language may fall to, the read-out and
    the split."""

    languages: list[str]
    examples_per_language: int
    chars_per_example: int
    skip_chars: int
    aggregation: str
    test_fraction: float
    seed: int
    extra_languages: list[str] | None = None
    max_windows_per_file: int = 4
    min_examples_per_language: int = 10
    min_span_chars: int | None = None

    def windowing(self, name: str) -> Windowing:
        """The validated :class:`Windowing` (a DatasetError names a bad setting)."""
        return Windowing.checked(name, self.chars_per_example, self.skip_chars,
                                 self.max_windows_per_file, self.min_span_chars)

    def write(self, name: str, origin: str, files: list[CodeFile], wanted: list[str],
              windowing: Windowing, out_dir: Path, meta: dict) -> FeatureDataset:
        """:func:`assemble_windows` of ``files`` (cut by ``windowing``, from
        :meth:`windowing`) into the dataset, with these settings."""
        return assemble_windows(
            name, origin, files, wanted, examples_per_language=self.examples_per_language,
            windowing=windowing, min_examples=self.min_examples_per_language,
            aggregation=self.aggregation, test_fraction=self.test_fraction, seed=self.seed,
            out_dir=out_dir, meta=meta,
        )
