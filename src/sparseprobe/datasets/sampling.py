"""One-vs-rest sampling of labelled units, shared by the builders that draw, per feature, a fixed
number of units with a fixed share of positives (tagged words, silver dependencies, LaTeX units,
the token-string predicates).

:class:`Sampling` is what such a builder is asked besides its features and source: how many
examples per feature, the share of positives, how the model reads a span (``aggregation``) and
the split (``test_fraction``, ``seed``). A builder takes these as keyword arguments
(``**sampling``) and hands them to ``Sampling(**sampling)``, so the defaults and the checks live
here once. :meth:`Sampling.draw` is the seeded per-feature draw; :meth:`Sampling.write` writes
the drawn rows with the split and the sampling arguments in ``meta.json``. What a draw does NOT
establish: negatives follow the corpus's own distribution of other labels, so a probe's score
depends on which negatives the corpus holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sparseprobe.datasets.schema import (
    FeatureDataset,
    check_feature_request,
    feature_seed,
    write_unit_dataset,
)
from sparseprobe.errors import DatasetError


@dataclass(frozen=True)
class Sampling:
    """Per feature, ``examples_per_feature`` units, about ``positive_fraction`` of them
    positive, read by ``aggregation``; the split holds out ``test_fraction`` (seeded by
    ``seed``, which also seeds every draw)."""

    examples_per_feature: int
    positive_fraction: float = 0.2
    aggregation: str = "last"
    test_fraction: float = 0.3
    seed: int = 0

    def check(self, name: str, features: Sequence[str], known: Sequence[str],
              source: str) -> None:
        """Raise DatasetError for missing, repeated or unknown features (naming ``source``),
        a positive fraction outside (0, 1) or fewer than 2 examples per feature."""
        check_feature_request(name, features, known, source, self.examples_per_feature,
                              self.positive_fraction)

    @property
    def counts(self) -> tuple[int, int]:
        """(positives, negatives) per feature: at least one of each."""
        n_pos = min(max(1, round(self.examples_per_feature * self.positive_fraction)),
                    self.examples_per_feature - 1)
        return n_pos, self.examples_per_feature - n_pos

    def draw(self, name: str, feature: str, pos_idx: np.ndarray, neg_idx: np.ndarray, *,
             units: str, source: str) -> list[tuple[int, bool]]:
        """(unit index, label) of the units drawn for ``feature`` from the positive and
        negative pools (index arrays), sorted by index; one RNG per feature, seeded by
        :func:`feature_seed`. Raises DatasetError naming the feature, the pool, ``units`` and
        ``source`` when a pool is smaller than its share."""
        n_pos, n_neg = self.counts
        for kind, pool, wanted in (("positive", pos_idx, n_pos), ("negative", neg_idx, n_neg)):
            if pool.size < wanted:
                raise DatasetError(
                    f"dataset '{name}': feature '{feature}' has only {pool.size} {kind} {units} "
                    f"in {source}, fewer than the {wanted} requested "
                    f"({self.examples_per_feature} examples x positive_fraction "
                    f"{self.positive_fraction})"
                )
        rng = np.random.default_rng(feature_seed(self.seed, feature))
        chosen = [(int(i), True) for i in rng.choice(pos_idx, n_pos, replace=False)]
        chosen += [(int(i), False) for i in rng.choice(neg_idx, n_neg, replace=False)]
        return sorted(chosen)

    def write(self, rows: list[tuple], out_dir: Path, *, name: str, category: str, meta: dict,
              **counts: object) -> FeatureDataset:
        """Write unit rows (feature, label, document_id, text, span_start, span_end) as a
        dataset; ``meta.json`` holds ``meta``, the seed and test fraction, the examples per
        feature and positive fraction, then ``counts`` (the builder's other arguments and the
        pools' sizes), in that order."""
        return write_unit_dataset(
            rows, out_dir, name=name, category=category, aggregation=self.aggregation,
            test_fraction=self.test_fraction, seed=self.seed, meta=meta,
            sampling={"examples_per_feature": self.examples_per_feature,
                      "positive_fraction": self.positive_fraction, **counts},
        )
