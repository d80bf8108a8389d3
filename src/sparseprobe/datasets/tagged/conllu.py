"""The CoNLL-U format (UD treebanks such as UD English EWT, the paper's source): a reader
that rebuilds each sentence's text and every word's character span.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sparseprobe.errors import DatasetError


@dataclass(frozen=True)
class ConlluWord:
    """One syntactic word of a CoNLL-U sentence; ``span`` is its [start, end) in the sentence
    text, None when it has no surface characters of its own (inside a multiword token whose
    word forms do not spell the token)."""

    id: int
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: dict[str, tuple[str, ...]]
    head: str
    deprel: str
    misc: str
    span: tuple[int, int] | None


@dataclass(frozen=True)
class ConlluSentence:
    """A sentence: its document, its id, the text rebuilt from the tokens, and its words."""

    document_id: str
    sent_id: str | None
    text: str
    words: tuple[ConlluWord, ...]
    comments: dict[str, str]


def _parse_feats(value: str, where: str) -> dict[str, tuple[str, ...]]:
    if value == "_":
        return {}
    feats = {}
    for pair in value.split("|"):
        attr, sep, values = pair.partition("=")
        if not sep or not attr or not values:
            raise DatasetError(f"{where}: FEATS item {pair!r} is not 'Attribute=Value'")
        feats[attr] = tuple(values.split(","))
    return feats


def _space_after(misc: str) -> bool:
    return "SpaceAfter=No" not in misc.split("|")


def read_conllu(path: Path) -> list[ConlluSentence]:
    """Parse a CoNLL-U file (UD format): comments, multiword token ranges ``1-2`` (the surface
    token; its words get sub-spans when their forms spell it), empty nodes ``1.1`` (skipped).

    The text is rebuilt from the surface tokens (a space after each unless ``SpaceAfter=No``).
    Document: the current ``# newdoc id`` if the file has one, else the ``# sent_id`` up to its
    last ``-`` (EWT), else the sentence is its own document. Raises DatasetError naming the
    file and line of anything malformed.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read a UTF-8 CoNLL-U file ({exc})") from exc
    sentences: list[ConlluSentence] = []
    state = {"doc": None, "docs": 0}
    comments: dict[str, str] = {}
    rows: list[tuple[int, list[str]]] = []

    def flush() -> None:
        nonlocal comments, rows
        if rows:  # a comment block with no word lines carries over to the next sentence
            sentences.append(_conllu_sentence(path, comments, rows, state, len(sentences)))
            comments, rows = {}, []

    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            flush()
        elif line.startswith("#"):
            if rows:
                raise DatasetError(f"{path}:{lineno}: comment line inside a sentence's word lines")
            key, sep, value = line[1:].partition("=")
            comments[key.strip()] = value.strip() if sep else ""
        else:
            cols = line.split("\t")
            if len(cols) != 10:
                raise DatasetError(
                    f"{path}:{lineno}: expected 10 tab-separated CoNLL-U columns, got {len(cols)}"
                )
            rows.append((lineno, cols))
    flush()
    return sentences


def _conllu_sentence(path: Path, comments: dict[str, str], rows: list, state: dict,
                     index: int) -> ConlluSentence:
    if "newdoc id" in comments or "newdoc" in comments:
        state["docs"] += 1
        state["doc"] = comments.get("newdoc id") or f"{path.name}#doc{state['docs']}"
    sent_id = comments.get("sent_id")
    if state["doc"] is not None:
        document = state["doc"]
    elif sent_id and "-" in sent_id:
        document = sent_id.rsplit("-", 1)[0]
    else:
        document = f"{path.name}#{sent_id or index}"
    # surface tokens: (form, space_after, [word rows])
    tokens: list[tuple[str, bool, list]] = []
    words_seen = 0
    mwt_end = 0
    for lineno, cols in rows:
        where = f"{path}:{lineno}"
        ident = cols[0]
        if "." in ident:  # empty node: no surface form
            continue
        if "-" in ident:
            start, _, end = ident.partition("-")
            if not (start.isdigit() and end.isdigit()) or int(start) != words_seen + 1 \
                    or int(end) < int(start):
                raise DatasetError(f"{where}: bad multiword token range {ident!r}")
            tokens.append((cols[1], _space_after(cols[9]), []))
            mwt_end = int(end)
            continue
        if not ident.isdigit() or int(ident) != words_seen + 1:
            raise DatasetError(
                f"{where}: word id {ident!r} out of sequence (expected {words_seen + 1})"
            )
        words_seen += 1
        if words_seen <= mwt_end:
            tokens[-1][2].append((where, cols))
        else:
            tokens.append((cols[1], _space_after(cols[9]), [(where, cols)]))
    if mwt_end > words_seen:
        raise DatasetError(f"{path}: sentence {sent_id or index}: multiword token range "
                           f"ends at word {mwt_end} but the sentence has {words_seen} words")
    parts: list[str] = []
    offset = 0
    words: list[ConlluWord] = []
    for form, space_after, members in tokens:
        if len(members) == 1:
            spans = [(offset, offset + len(form))]
        else:
            forms = [cols[1] for _, cols in members]
            if sum(map(len, forms)) == len(form):
                bounds = np.cumsum([0, *map(len, forms)]) + offset
                spans = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
            else:
                spans = [None] * len(members)
        for (where, cols), span in zip(members, spans):
            words.append(ConlluWord(
                id=int(cols[0]), form=cols[1], lemma=cols[2], upos=cols[3], xpos=cols[4],
                feats=_parse_feats(cols[5], where), head=cols[6], deprel=cols[7], misc=cols[9],
                span=span if span and span[1] > span[0] else None,
            ))
        parts.append(form)
        offset += len(form)
        if space_after:
            parts.append(" ")
            offset += 1
    text = "".join(parts).rstrip(" ")
    return ConlluSentence(document, sent_id, text, tuple(words), dict(comments))
