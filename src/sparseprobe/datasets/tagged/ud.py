"""Gold UD datasets from CoNLL-U files: part of speech, morphology and dependencies.

CoNLL-U (:func:`build_part_of_speech_conllu`, :func:`build_morphology_conllu`,
:func:`build_dependencies_conllu`)
    Features are UPOS tags, ``Attr=Value`` pairs of FEATS (a multi-valued ``PronType=Int,Rel``
    counts for both values) and DEPREL labels (feature ``obl`` matches ``obl`` and ``obl:tmod``;
    ``obl:tmod`` matches only itself). Every word with a surface span is labelled for every
    feature (gold annotation: no "unknown").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

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


def _build_conllu(conllu_paths: list[Path], out_dir: Path, *, mode: str, category: str,
                  description: str, features: list[str], name: str,
                  **kwargs) -> FeatureDataset:
    paths = [Path(p) for p in conllu_paths]
    sentences, words, corpus = _conllu_corpus(paths)
    if mode == "pos":
        known = UPOS_TAGS
        values = [w.upos for w in words]
        corpus.labels = lambda f: (np.array([v == f for v in values], bool),
                                   np.array([v not in (f, "_") for v in values], bool))
    elif mode == "morph":
        pairs = [frozenset(f"{a}={v}" for a, vs in w.feats.items() for v in vs) for w in words]
        known = sorted(set().union(*pairs))
        corpus.labels = lambda f: (np.array([f in p for p in pairs], bool),
                                   np.array([f not in p for p in pairs], bool))
    else:
        rels = [w.deprel for w in words]
        known = sorted({r for r in rels if r != "_"} | {r.split(":")[0] for r in rels if r != "_"})

        def matches(rel: str, f: str) -> bool:
            return rel == f or rel.startswith(f + ":")

        corpus.labels = lambda f: (np.array([matches(r, f) for r in rels], bool),
                                   np.array([r != "_" and not matches(r, f) for r in rels], bool))
    check_word_request(name, features, known, corpus.source, kwargs["examples_per_feature"],
                       kwargs["positive_fraction"], kwargs["context_sentences"])
    return sample_word_dataset(
        corpus, out_dir, name=name, category=category, features=features,
        meta={"description": description, "source": f"CoNLL-U {corpus.source}",
              "source_sha256": {p.name: sha256_of(p) for p in paths},
              "corpus": {"documents": len({s.document_id for s in sentences}),
                         "sentences": len(sentences), "words": len(words)}},
        **kwargs,
    )


def build_part_of_speech_conllu(
    conllu_paths: list[Path],
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "part_of_speech",
) -> FeatureDataset:
    """UPOS from CoNLL-U files (e.g. UD English EWT), one-vs-rest per tag of :data:`UPOS_TAGS`;
    words with UPOS ``_`` are never targets."""
    return _build_conllu(
        conllu_paths, out_dir, mode="pos", category="part_of_speech",
        description="Universal part of speech (UPOS column) of the span's word, one-vs-rest "
        "per tag, read at the word's last token.",
        features=features, name=name, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, context_sentences=context_sentences,
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
    )


def build_morphology_conllu(
    conllu_paths: list[Path],
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "morphology",
) -> FeatureDataset:
    """Morphology from the FEATS column: one feature per ``Attribute=Value`` pair present in
    the files; a word is negative when it lacks the pair (FEATS ``_`` included)."""
    return _build_conllu(
        conllu_paths, out_dir, mode="morph", category="morphology",
        description="UD morphological feature (FEATS Attribute=Value) of the span's word, "
        "one-vs-rest, read at the word's last token.",
        features=features, name=name, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, context_sentences=context_sentences,
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
    )


def build_dependencies_conllu(
    conllu_paths: list[Path],
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "dependencies",
) -> FeatureDataset:
    """Dependency relation (DEPREL) of each word to its head, one-vs-rest per relation;
    feature ``obl`` matches ``obl`` and its subtypes (``obl:tmod``), ``obl:tmod`` only itself."""
    return _build_conllu(
        conllu_paths, out_dir, mode="deps", category="dependencies",
        description="Dependency relation (DEPREL) of the span's word to its head, one-vs-rest "
        "per relation, read at the word's last token.",
        features=features, name=name, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, context_sentences=context_sentences,
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
    )
