"""The ladder's training corpus, built offline from the pinned sources.

Documents: the train-split texts of every feature dataset of the run (never a test example),
plus background text: a seeded sample of about ``background_chars`` characters of sae-probes
sets that no dataset probes, and the Django catalogues of languages other than the probed ones.
Shuffled once with a seed so every rung sees one order.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

from sparseprobe.datasets import load_feature_dataset
from sparseprobe.datasets.natural_language import pack_messages
from sparseprobe.datasets.catalogs import catalogue_messages, sae_probes_table
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import open_wheel


_KEY_CHARS = 64


def _leak_key(text: str) -> str:
    """A test text's first 64 characters. A background document that starts with any test key
    (a shorter test text included) is dropped: builders may cut a source text, so exact
    equality would miss a test example inside the background."""
    return text[:_KEY_CHARS]


def build_corpus(
    dataset_dirs: list[Path],
    out_path: Path,
    *,
    sae_probes_wheel: Path,
    django_wheel: Path,
    background_sae_probes: list[str],
    background_languages: list[str],
    background_chars: int,
    seed: int,
) -> pl.DataFrame:
    """Write ``out_path`` (Parquet, columns ``text`` and ``origin``) and return it.

    Background documents that start like any dataset's test example are dropped, so no test
    example (even one cut from a longer source text) enters training. Raises DatasetError if a
    background language is also probed by a dataset (its test texts would leak into training).
    """
    documents: list[tuple[str, str]] = []
    probed_languages: set[str] = set()
    test_keys: set[str] = set()
    for directory in dataset_dirs:
        dataset = load_feature_dataset(directory)
        if dataset.category == "natural_language":
            probed_languages |= set(dataset.features)
        train = dataset.examples.filter(pl.col("split") == "train")["text"]
        documents += [(f"dataset:{dataset.name}", text) for text in train]
        test = dataset.examples.filter(pl.col("split") == "test")["text"]
        test_keys |= {_leak_key(text) for text in test}
    leaking = sorted(probed_languages & set(background_languages))
    if leaking:
        raise DatasetError(
            f"ladder.corpus.background_languages {leaking} are probed by a dataset; "
            "their test texts would enter the training corpus"
        )
    background: list[tuple[str, str]] = []
    with open_wheel(sae_probes_wheel) as wheel:
        for stem in background_sae_probes:
            prompts = sae_probes_table(wheel, stem)["prompt"].drop_nulls()
            background += [(f"sae_probes:{stem}", p) for p in prompts.unique(maintain_order=True)]
    lengths = sorted({len(key) for key in test_keys})
    background = [(o, t) for o, t in background
                  if not any(t[:n] in test_keys for n in lengths)]
    random.Random(f"{seed}:background").shuffle(background)
    budget = background_chars
    for origin, text in background:
        if budget <= 0:
            break
        documents.append((origin, text[:budget]))
        budget -= len(text)
    with open_wheel(django_wheel) as wheel:
        for language in background_languages:
            rng = random.Random(f"{seed}:background:{language}")
            texts = pack_messages(catalogue_messages(wheel, language), 1000, rng)
            documents += [(f"django:{language}", t) for t in texts]
    random.Random(seed).shuffle(documents)
    frame = pl.DataFrame(documents, schema=["origin", "text"], orient="row")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    frame.select("text", "origin").write_parquet(out_path)
    return frame
