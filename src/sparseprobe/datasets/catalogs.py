"""Readers of the raw offline sources: gettext catalogues and sae-probes CSVs inside wheels."""

from __future__ import annotations

import ast
import io
import re
import zipfile

import polars as pl
import zstandard

from sparseprobe.errors import SourceError

_PLACEHOLDER = re.compile(
    r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[sdifrx]|%[-#0 +]*\d*(?:\.\d+)?[sdifrx]|\{[^{}]*\}|<[^<>]+>"
)
_SPACES = re.compile(r"\s+")


def _po_literal(line: str) -> str:
    """The string value of one quoted .po line ("..." with C escapes)."""
    return ast.literal_eval(line)


def parse_po(text: str) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs of a gettext catalogue; fuzzy and untranslated entries are skipped.

    Plural entries contribute msgid and msgstr[0]. The header entry (empty msgid) is skipped.
    """
    pairs: list[tuple[str, str]] = []
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None
    fuzzy = False

    def flush() -> None:
        if msgid is not None and msgstr is not None and not fuzzy:
            source, target = "".join(msgid), "".join(msgstr)
            if source and target:
                pairs.append((source, target))

    for raw in text.splitlines() + [""]:
        line = raw.strip()
        if not line:
            flush()
            msgid = msgstr = current = None
            fuzzy = False
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural"):
            current = None
        elif line.startswith("msgid "):
            msgid, msgstr = [_po_literal(line[6:])], None
            current = msgid
        elif line.startswith("msgstr[0]") or line.startswith("msgstr "):
            msgstr = [_po_literal(line.split(" ", 1)[1])]
            current = msgstr
        elif line.startswith("msgstr["):
            current = None
        elif line.startswith('"') and current is not None:
            current.append(_po_literal(line))
    return pairs


def clean_message(message: str) -> str:
    """Remove format placeholders and markup (shared by all languages) and squeeze spaces."""
    return _SPACES.sub(" ", _PLACEHOLDER.sub(" ", message)).strip()


def catalogue_messages(wheel: zipfile.ZipFile, language: str) -> list[str]:
    """Cleaned messages of one language from every django.po/djangojs.po in the Django wheel.

    For ``en`` (whose catalogues are untranslated) the English msgids are used. Messages are
    deduplicated, keep their first-seen order (catalogue path order) and have at least 3 letters.
    """
    pattern = re.compile(rf"^django/(?:.*/)?locale/{re.escape(language)}/LC_MESSAGES/django(?:js)?\.po$")
    paths = sorted(n for n in wheel.namelist() if pattern.match(n))
    if not paths:
        raise SourceError(f"{wheel.filename}: no gettext catalogue for language '{language}'")
    seen: dict[str, None] = {}
    for path in paths:
        text = wheel.read(path).decode("utf-8")
        if language == "en":
            pairs = [(m, m) for m, _ in parse_po(text.replace('msgstr ""', 'msgstr "x"'))]
        else:
            pairs = parse_po(text)
        for _, target in pairs:
            message = clean_message(target)
            if sum(ch.isalpha() for ch in message) >= 3:
                seen.setdefault(message, None)
    return list(seen)


def sae_probes_table(wheel: zipfile.ZipFile, stem: str) -> pl.DataFrame:
    """One sae-probes dataset (``cleaned_data/{stem}.csv.zst``) as a frame (prompt, target...)."""
    path = f"sae_probes/data/cleaned_data/{stem}.csv.zst"
    try:
        raw = wheel.read(path)
    except KeyError as exc:
        raise SourceError(f"{wheel.filename}: has no file {path}") from exc
    data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
    frame = pl.read_csv(io.BytesIO(data), infer_schema_length=0)
    for col in ("prompt", "target"):
        if col not in frame.columns:
            raise SourceError(f"{wheel.filename}:{path}: no column '{col}'")
    return frame
