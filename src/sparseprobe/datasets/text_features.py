"""The paper's 11 token-string predicates, made model-independent.

The paper labelled each *token* of Pythia's tokenizer by a predicate on its string. A feature
dataset here must serve any tokenizer, so the unit is a *pre-token*: the pieces a GPT-2-style
byte-level BPE pre-tokenizer splits text into (an optional leading space plus a run of letters,
of digits or of other symbols; whitespace runs; English contractions). BPE merges never cross
these boundaries, so for common words the pre-token is the model's token; for rarer ones the
model reads the pre-token's last sub-word token (aggregation ``last``), which inherits its label.

Two sources share one sampling core (:func:`sample_text_features`, documents as (id, text)):
sae-probes corpora (:func:`build_text_features`, offline) and the paper's own Pile documents
(``sparseprobe.datasets.pile.text_features.build_text_features_pile``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from sparseprobe.datasets.catalogs import sae_probes_table
from sparseprobe.datasets.sampling import Sampling
from sparseprobe.datasets.schema import (
    FeatureDataset,
    document_id,
    with_split,
    write_feature_dataset,
)
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import open_wheel

PRE_TOKEN = re.compile(
    r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+", re.UNICODE
)


def _word(unit: str) -> str:
    return unit.lstrip(" ")


PREDICATES: dict[str, Callable[[str], bool]] = {
    "contains_digit": lambda u: any(c.isdigit() for c in u),
    "all_digits": lambda u: _word(u).isdigit(),
    "contains_capital": lambda u: any(c.isupper() for c in u),
    "leading_capital": lambda u: bool(_word(u)) and _word(u)[0].isupper(),
    "all_capitals": lambda u: sum(c.isalpha() for c in u) >= 2 and _word(u).isupper(),
    "contains_whitespace": lambda u: any(c.isspace() for c in u),
    "has_leading_space": lambda u: u.startswith(" "),
    "no_leading_space_and_loweralpha": lambda u: (
        not u.startswith(" ") and u.isalpha() and u.islower()
    ),
    "contains_all_whitespace": lambda u: u.isspace(),
    "is_not_alphanumeric": lambda u: not any(c.isalnum() for c in u),
    "is_not_ascii": lambda u: not u.isascii(),
}
"""Each predicate's definition on a pre-token string ``u`` (leading space included)."""


def pre_tokens(text: str) -> list[tuple[int, int]]:
    """Character spans of the pre-tokens of ``text``, in order."""
    return [m.span() for m in PRE_TOKEN.finditer(text)]


def check_features(features: list[str], name: str) -> None:
    """Raise a DatasetError naming the predicates of ``features`` that are not in PREDICATES."""
    unknown = sorted(set(features) - set(PREDICATES))
    if unknown:
        raise DatasetError(f"dataset '{name}': unknown predicates {unknown}; known: "
                           f"{sorted(PREDICATES)}")


def sample_text_features(documents: list[tuple[str, str]], out_dir: Path, *,
                         features: list[str], name: str, source: str, meta: dict,
                         sampling: Sampling) -> FeatureDataset:
    """The sampling core shared by every source of text: ``documents`` is a list of
    (document_id, text). Per predicate, ``sampling.examples_per_feature`` pre-tokens are drawn
    (``positive_fraction`` of them positive, at least one) with one RNG seeded by ``seed`` and
    advanced feature after feature (not :meth:`Sampling.draw`, which seeds per feature); a
    pre-token drawn by several predicates is one example labelled by each. The split is grouped
    by document_id, so no document has pre-tokens on both sides. ``source``
    names the corpus in errors. What this does NOT establish: a pre-token is the model's token
    only for common words (rarer words are read at their last sub-word token)."""
    check_features(features, name)
    texts = [text for _, text in documents]
    units = [(t, s, e) for t, text in enumerate(texts) for s, e in pre_tokens(text)]
    strings = [texts[t][s:e] for t, s, e in units]
    rng = random.Random(sampling.seed)
    examples_per_feature = sampling.examples_per_feature
    n_pos = max(1, round(examples_per_feature * sampling.positive_fraction))
    chosen: dict[tuple[int, int, int], int] = {}
    label_rows: list[tuple[str, tuple[int, int, int], bool]] = []
    for feature in features:
        predicate = PREDICATES[feature]
        flags = [predicate(u) for u in strings]
        for label, count in ((True, n_pos), (False, examples_per_feature - n_pos)):
            pool = [u for u, f in zip(units, flags) if f == label]
            if len(pool) < count:
                raise DatasetError(
                    f"dataset '{name}': predicate '{feature}' has {len(pool)} "
                    f"{'positive' if label else 'negative'} pre-tokens in {source}, fewer "
                    f"than the {count} requested"
                )
            for unit in rng.sample(pool, count):
                chosen.setdefault(unit, len(chosen))
                label_rows.append((feature, unit, label))
    order = sorted(chosen, key=chosen.get)
    first_label = {}
    for feature, unit, label in label_rows:
        first_label.setdefault(unit, f"{feature}:{'pos' if label else 'neg'}")
    examples = pl.DataFrame({
        "example_id": list(range(len(order))),
        "document_id": [documents[t][0] for t, _, _ in order],
        "text": [texts[t] for t, _, _ in order],
        "span_start": [s for _, s, _ in order],
        "span_end": [e for _, _, e in order],
        "stratum": [first_label[u] for u in order],
    })
    examples = with_split(examples, sampling.test_fraction, sampling.seed)
    labels = pl.DataFrame(
        [(f, chosen[u], lab) for f, u, lab in label_rows],
        schema=["feature", "example_id", "label"], orient="row",
    ).unique(["feature", "example_id"], keep="first", maintain_order=True)
    return write_feature_dataset(
        out_dir, name=name, category="text_features", aggregation=sampling.aggregation,
        examples=examples, labels=labels, meta=meta,
    )


def build_text_features(sae_probes_wheel: Path, out_dir: Path, *, corpora: list[str],
                        texts_per_corpus: int, max_chars: int, features: list[str],
                        name: str = "text_features", **sampling: Any) -> FeatureDataset:
    """Sample, per predicate, ``examples_per_feature`` pre-tokens (``positive_fraction`` of
    them positive) from texts of the sae-probes ``corpora`` (stems). The split is grouped by
    text, so no text has pre-tokens on both sides. ``sampling``: the fields of
    :class:`~sparseprobe.datasets.sampling.Sampling`."""
    sampling = Sampling(**sampling)
    check_features(features, name)
    texts: list[str] = []
    with open_wheel(sae_probes_wheel) as wheel:
        for stem in corpora:
            prompts = sae_probes_table(wheel, stem)["prompt"].drop_nulls().unique(
                maintain_order=True)
            texts += [p[:max_chars] for p in prompts.sample(
                min(texts_per_corpus, prompts.len()), seed=sampling.seed, shuffle=True)]
    return sample_text_features(
        [(document_id(text), text) for text in texts], out_dir, features=features, name=name,
        source="the corpora", sampling=sampling,
        meta={"description": "The paper's token-string predicates, on pre-tokens of sae-probes "
              "corpora (see sparseprobe.datasets.text_features).",
              "corpora": corpora, "positive_fraction": sampling.positive_fraction,
              "source": f"sae-probes wheel {Path(sae_probes_wheel).name}",
              "seed": sampling.seed, "test_fraction": sampling.test_fraction},
    )
