"""Sampling target words into a token-level dataset (shared by every tagged-corpus builder).

The paper probes each word of UD English EWT for its universal part of speech (UPOS), its
morphological features (FEATS) and its dependency relation (DEPREL). Here an example is one
target WORD in its context (its sentence, optionally preceded by ``context_sentences`` sentences
of the same document); its span is the word's characters, read at the span's last token
(aggregation "last"), so the sub-word tokens of a word inherit its label (the paper's
convention). Per feature, ``examples_per_feature`` words are sampled with about
``positive_fraction`` positives (the paper caps token-level positives at 20-25%), the rest drawn
uniformly from the words that certainly do NOT have the feature (so negatives follow the
corpus's own distribution of other tags). The split groups by document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sparseprobe.datasets.sampling import Sampling
from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.errors import DatasetError


@dataclass
class WordCorpus:
    """Sentences (lazily rendered) and one row per candidate target word."""

    source: str
    sentence_documents: list[str]
    render: Callable[[int], tuple[str, list[tuple[int, int] | None]]]
    word_sentence: np.ndarray  # per word: its sentence
    word_index: np.ndarray  # per word: its position in the sentence's span list
    labels: Callable[[str], tuple[np.ndarray, np.ndarray]]  # feature -> (positive, negative)
    _cache: dict = field(default_factory=dict)

    def sentence(self, index: int) -> tuple[str, list]:
        if index not in self._cache:
            self._cache[index] = self.render(index)
        return self._cache[index]

    def example(self, word: int, context_sentences: int) -> tuple[str, str, int, int]:
        """(document_id, text, span_start, span_end) of one target word in its context."""
        s = int(self.word_sentence[word])
        document = self.sentence_documents[s]
        first = s
        while (first > 0 and s - first < context_sentences
               and self.sentence_documents[first - 1] == document):
            first -= 1
        prefix = " ".join(self.sentence(j)[0] for j in range(first, s))
        text, spans = self.sentence(s)
        start, end = spans[int(self.word_index[word])]
        shift = len(prefix) + 1 if prefix else 0
        return document, (f"{prefix} {text}" if prefix else text), start + shift, end + shift


def check_word_request(name: str, features: Sequence[str], known: Sequence[str], source: str,
                       sampling: Sampling, context_sentences: int) -> None:
    """Raise DatasetError for unknown features, bad sizes or a negative ``context_sentences``."""
    sampling.check(name, features, known, source)
    if context_sentences < 0:
        raise DatasetError(
            f"dataset '{name}': context_sentences must be >= 0, got {context_sentences}"
        )


def sample_word_dataset(corpus: WordCorpus, out_dir: Path, *, name: str, category: str,
                        features: Sequence[str], context_sentences: int, sampling: Sampling,
                        meta: dict) -> FeatureDataset:
    """Per feature, draw the words of ``corpus`` that ``sampling`` asks for (see
    :meth:`Sampling.draw`), each in its context, and write the dataset. Raises DatasetError
    when a feature has too few positive or negative words."""
    rows = []
    available = {}
    for feature in features:
        positive, negative = corpus.labels(feature)
        pos_idx, neg_idx = np.flatnonzero(positive), np.flatnonzero(negative)
        available[feature] = {"positive": int(pos_idx.size), "negative": int(neg_idx.size)}
        for word, label in sampling.draw(name, feature, pos_idx, neg_idx, units="words",
                                         source=corpus.source):
            document, text, start, end = corpus.example(word, context_sentences)
            rows.append((feature, label, document, text, start, end))
    return sampling.write(rows, out_dir, name=name, category=category, meta=meta,
                          context_sentences=context_sentences, available=available)
