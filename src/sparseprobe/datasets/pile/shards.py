"""Reading Pile shards (``*.jsonl.zst``; one JSON object a line, ``{"text": ..., "meta":
{"pile_set_name": ...}}``), streamed.

Shards are streamed (they are GBs): reading stops once ``max_documents`` documents are taken,
optionally only those of some ``pile_sets``. Exact duplicate documents are read once. Compound
Each error names the shard and line.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from sparseprobe.datasets.schema import document_id
from sparseprobe.errors import DatasetError

PILE_FORMAT = '{"text": ..., "meta": {"pile_set_name": ...}} per line'
_SHARD_SUFFIXES = (".jsonl", ".ndjson", ".json")


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


def no_documents_reason(paths: Sequence[Path], pile_sets: Sequence[str] | None,
                        stats: dict) -> str:
    """Why reading ``paths`` gave no documents (the shards, the sets asked for and seen)."""
    shards = ", ".join(Path(p).name for p in paths)
    if pile_sets is not None:
        return (f"{shards}: no documents of pile_sets {sorted(pile_sets)} (sets seen: "
                f"{dict(sorted(stats['pile_sets_seen'].items()))})")
    return f"{shards}: no non-empty documents"


def shards_meta(paths: Sequence[Path], pile_sets: Sequence[str] | None, stats: dict) -> dict:
    """What a dataset's meta.json records of the shards read (names, sets, read counts)."""
    return {"shards": [Path(p).name for p in paths],
            "pile_sets": sorted(pile_sets) if pile_sets is not None else None,
            "read": {k: stats[k] for k in ("shards_read", "documents", "duplicates",
                                           "empty_texts")}}


@dataclass
class PileReading:
    """One pass of a builder over Pile shards: the shards, how many documents to take, the
    ``pile_sets`` filter, and what the pass read (``stats``, filled by :meth:`documents`)."""

    shards: list[Path]
    max_documents: int | None
    pile_sets: Sequence[str] | None
    stats: dict = field(default_factory=dict)

    @classmethod
    def of(cls, paths: Path | Sequence[Path], max_documents: int | None,
           pile_sets: Sequence[str] | None) -> PileReading:
        """Checked shard paths (see :func:`shard_paths`), nothing read yet."""
        return cls(shard_paths(paths), max_documents, pile_sets)

    def documents(self) -> Iterator[PileDocument]:
        """:func:`iter_pile` over the shards, recording into ``stats``."""
        return iter_pile(self.shards, max_documents=self.max_documents,
                         pile_sets=self.pile_sets, stats=self.stats)

    def check_read(self, name: str) -> None:
        """Raise DatasetError naming the dataset and the shards when no document was read."""
        if self.stats.get("documents", 0) == 0:
            raise DatasetError(f"dataset '{name}': "
                               f"{no_documents_reason(self.shards, self.pile_sets, self.stats)}")

    def meta(self) -> dict:
        """What meta.json records of the pass (see :func:`shards_meta`)."""
        return shards_meta(self.shards, self.pile_sets, self.stats)
