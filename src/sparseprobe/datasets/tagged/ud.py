"""Gold UD datasets from CoNLL-U files: part of speech, morphology and dependencies.

CoNLL-U (:func:`build_part_of_speech_conllu`, :func:`build_morphology_conllu`,
:func:`build_dependencies_conllu`)
    Features are UPOS tags, ``Attr=Value`` pairs of FEATS (a multi-valued ``PronType=Int,Rel``
    counts for both values) and DEPREL labels (feature ``obl`` matches ``obl`` and ``obl:tmod``;
    ``obl:tmod`` matches only itself). Every word with a surface span is labelled for every
    feature (gold annotation: no "unknown").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sparseprobe.datasets.sampling import Sampling
from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.datasets.tagged.brown_tags import UPOS_TAGS
from sparseprobe.datasets.tagged.conllu import ConlluSentence, ConlluWord, read_conllu
from sparseprobe.datasets.tagged.sampling import WordCorpus, check_word_request, sample_word_dataset
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import sha256_of


def _conllu_corpus(paths: Sequence[Path]) -> tuple[list[ConlluSentence], list[ConlluWord],
                                                    WordCorpus]:
    if not paths:
        raise DatasetError("no CoNLL-U files given")
    sentences = [s for p in paths for s in read_conllu(Path(p))]
    if not sentences:
        raise DatasetError(f"{', '.join(map(str, paths))}: no sentences (expected CoNLL-U)")
    words, word_sentence, word_index = [], [], []
    for s, sentence in enumerate(sentences):
        for w, word in enumerate(sentence.words):
            if word.span is not None:
                words.append(word)
                word_sentence.append(s)
                word_index.append(w)
    corpus = WordCorpus(
        source=", ".join(Path(p).name for p in paths),
        sentence_documents=[s.document_id for s in sentences],
        render=lambda i: (sentences[i].text, [w.span for w in sentences[i].words]),
        word_sentence=np.asarray(word_sentence, dtype=np.int64),
        word_index=np.asarray(word_index, dtype=np.int64),
        labels=lambda feature: (np.zeros(0, bool), np.zeros(0, bool)),
    )
    return sentences, words, corpus


def _conllu_labels(mode: str, words: list[ConlluWord]) -> tuple[
        Sequence[str], Callable[[str], tuple[np.ndarray, np.ndarray]]]:
    """The features the words know in ``mode`` (pos, morph, deps) and feature -> (positive,
    negative) masks over the words."""
    if mode == "pos":
        values = [w.upos for w in words]
        return UPOS_TAGS, lambda f: (np.array([v == f for v in values], bool),
                                     np.array([v not in (f, "_") for v in values], bool))
    if mode == "morph":
        pairs = [frozenset(f"{a}={v}" for a, vs in w.feats.items() for v in vs) for w in words]
        return sorted(set().union(*pairs)), lambda f: (np.array([f in p for p in pairs], bool),
                                                       np.array([f not in p for p in pairs], bool))
    rels = [w.deprel for w in words]
    known = sorted({r for r in rels if r != "_"} | {r.split(":")[0] for r in rels if r != "_"})

    def matches(rel: str, f: str) -> bool:
        return rel == f or rel.startswith(f + ":")

    return known, lambda f: (np.array([matches(r, f) for r in rels], bool),
                             np.array([r != "_" and not matches(r, f) for r in rels], bool))


@dataclass(frozen=True)
class _ConlluTask:
    """What one CoNLL-U dataset labels: the column (``mode`` of :func:`_conllu_labels`), the
    dataset's category and its description."""

    mode: str
    category: str
    description: str


_UPOS = _ConlluTask("pos", "part_of_speech", "Universal part of speech (UPOS column) of the "
                    "span's word, one-vs-rest per tag, read at the word's last token.")
_FEATS = _ConlluTask("morph", "morphology", "UD morphological feature (FEATS Attribute=Value) "
                     "of the span's word, one-vs-rest, read at the word's last token.")
_DEPREL = _ConlluTask("deps", "dependencies", "Dependency relation (DEPREL) of the span's word "
                      "to its head, one-vs-rest per relation, read at the word's last token.")


def _build_conllu(conllu_paths: list[Path], out_dir: Path, task: _ConlluTask, *,
                  features: list[str], name: str, context_sentences: int,
                  sampling: Sampling) -> FeatureDataset:
    paths = [Path(p) for p in conllu_paths]
    sentences, words, corpus = _conllu_corpus(paths)
    known, corpus.labels = _conllu_labels(task.mode, words)
    check_word_request(name, features, known, corpus.source, sampling, context_sentences)
    return sample_word_dataset(
        corpus, out_dir, name=name, category=task.category, features=features,
        context_sentences=context_sentences, sampling=sampling,
        meta={"description": task.description, "source": f"CoNLL-U {corpus.source}",
              "source_sha256": {p.name: sha256_of(p) for p in paths},
              "corpus": {"documents": len({s.document_id for s in sentences}),
                         "sentences": len(sentences), "words": len(words)}},
    )


def build_part_of_speech_conllu(conllu_paths: list[Path], out_dir: Path, *,
                                features: list[str], context_sentences: int = 0,
                                name: str = "part_of_speech", **sampling: Any) -> FeatureDataset:
    """UPOS from CoNLL-U files (e.g. UD English EWT), one-vs-rest per tag of :data:`UPOS_TAGS`;
    words with UPOS ``_`` are never targets. ``sampling``: the fields of
    :class:`~sparseprobe.datasets.sampling.Sampling`."""
    return _build_conllu(conllu_paths, out_dir, _UPOS, features=features, name=name,
                         context_sentences=context_sentences, sampling=Sampling(**sampling))


def build_morphology_conllu(conllu_paths: list[Path], out_dir: Path, *, features: list[str],
                            context_sentences: int = 0, name: str = "morphology",
                            **sampling: Any) -> FeatureDataset:
    """Morphology from the FEATS column: one feature per ``Attribute=Value`` pair present in
    the files; a word is negative when it lacks the pair (FEATS ``_`` included)."""
    return _build_conllu(conllu_paths, out_dir, _FEATS, features=features, name=name,
                         context_sentences=context_sentences, sampling=Sampling(**sampling))


def build_dependencies_conllu(conllu_paths: list[Path], out_dir: Path, *, features: list[str],
                              context_sentences: int = 0, name: str = "dependencies",
                              **sampling: Any) -> FeatureDataset:
    """Dependency relation (DEPREL) of each word to its head, one-vs-rest per relation;
    feature ``obl`` matches ``obl`` and its subtypes (``obl:tmod``), ``obl:tmod`` only itself."""
    return _build_conllu(conllu_paths, out_dir, _DEPREL, features=features, name=name,
                         context_sentences=context_sentences, sampling=Sampling(**sampling))
