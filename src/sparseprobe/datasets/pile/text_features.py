"""The paper's token-string predicates over Pile text.

``build_text_features_pile``
    The paper's 11 token-string predicates (``sparseprobe.datasets.text_features``) over the
    pre-tokens of the first ``max_chars`` characters of Pile documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sparseprobe.datasets.pile.sampling import check_sizes
from sparseprobe.datasets.pile.shards import PileReading
from sparseprobe.datasets.sampling import Sampling
from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.datasets.text_features import check_features, sample_text_features

# ---------------------------------------------------------------------------------------------
# Text features


def build_text_features_pile(paths: Path | Sequence[Path], out_dir: Path, *,
                             features: list[str], max_documents: int | None, max_chars: int,
                             pile_sets: list[str] | None = None, name: str = "text_features",
                             **sampling: Any) -> FeatureDataset:
    """The paper's token-string predicates on pre-tokens of the first ``max_chars`` characters
    of the first ``max_documents`` Pile documents (of ``pile_sets`` if given). Per predicate,
    ``examples_per_feature`` pre-tokens, ``positive_fraction`` of them positive; the split is
    grouped by Pile document. A label says what the pre-token's string is, nothing about what
    the model does with it. ``sampling``: the fields of
    :class:`~sparseprobe.datasets.sampling.Sampling`."""
    sampling = Sampling(**sampling)
    check_features(features, name)
    check_sizes(name, max_chars, sampling.examples_per_feature, "examples_per_feature")
    reading = PileReading.of(paths, max_documents, pile_sets)
    documents = [(d.document_id, d.text[:max_chars]) for d in reading.documents()]
    reading.check_read(name)
    return sample_text_features(
        documents, out_dir, features=features, name=name,
        source=f"the {len(documents)} Pile documents read", sampling=sampling,
        meta={"description": "The paper's token-string predicates, on pre-tokens of Pile "
              "documents (see sparseprobe.datasets.text_features).",
              "source": "Pile shards", **reading.meta(),
              "max_chars": max_chars, "positive_fraction": sampling.positive_fraction,
              "seed": sampling.seed, "test_fraction": sampling.test_fraction},
    )
