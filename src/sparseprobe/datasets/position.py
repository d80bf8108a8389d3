"""Position: where in its context a token sits, as a regression target and as binned classes.

The paper's side experiment regressed a token's position in the context on the model's
activations. A feature dataset here must serve every tokenizer, so position is counted in
*pre-tokens* (``sparseprobe.datasets.text_features.pre_tokens``: a word with its leading space, a
number, a run of symbols or of whitespace): the read unit is the ``p``-th pre-token of its text
(0-based) and the text ends right after it, so the model reads it at the end of its window, with
``p`` pre-tokens (and at least ``p`` tokens, BOS aside) before it. For a byte-level BPE with a
vocabulary of a few thousand words a pre-token is about one to two tokens, so the pre-token
position is a monotone proxy for the token position, not equal to it.

Features (all on the same examples, one unit per text, ``p`` drawn uniformly from
``[0, max_position)``):

- ``position`` (regression): the target is ``p``; probes report R^2 and mean absolute error.
- ``position:{lo}-{hi}`` (binary, one-vs-rest): ``lo <= p <= hi`` for bins of ``bin_width``.

What it establishes: how linearly decodable absolute position is from k neurons of a layer. It
does not separate position from what correlates with it in running text (e.g. sentence-initial
capitals are more frequent at small ``p``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from sparseprobe.datasets.catalogs import sae_probes_table
from sparseprobe.datasets.schema import (
    FeatureDataset,
    document_id,
    with_split,
    write_feature_dataset,
)
from sparseprobe.datasets.text_features import pre_tokens
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import open_wheel


def position_bins(max_position: int, bin_width: int) -> list[tuple[int, int]]:
    """Inclusive (lo, hi) pre-token position bins covering ``[0, max_position)``."""
    if bin_width < 1 or max_position < 2 * bin_width:
        raise DatasetError(
            f"position: need bin_width >= 1 and max_position >= 2 x bin_width (two bins), got "
            f"max_position {max_position}, bin_width {bin_width}"
        )
    return [(lo, min(lo + bin_width, max_position) - 1) for lo in range(0, max_position, bin_width)]


@dataclass(frozen=True)
class PositionRequest:
    """What a position dataset is asked besides its texts: ``examples`` (text, position)
    pairs, positions in ``[0, max_position)`` binned by ``bin_width``, read by ``aggregation``;
    the split holds out ``test_fraction`` (``seed`` also seeds the draw)."""

    examples: int
    test_fraction: float
    seed: int
    max_position: int = 48
    bin_width: int = 8
    aggregation: str = "last"


def position_dataset(texts: list[str], out_dir: Path, *, name: str, source: str,
                     **request: Any) -> FeatureDataset:
    """Draw ``examples`` (text, position) pairs from ``texts`` (one unit per text) and write the
    position dataset; ``request``: the fields of :class:`PositionRequest`. Raises DatasetError
    when too few texts are long enough."""
    request = PositionRequest(**request)
    max_position = request.max_position
    bins = position_bins(max_position, request.bin_width)
    rng = random.Random(f"{request.seed}:position")
    order = list(range(len(texts)))
    rng.shuffle(order)
    rows = []
    for t in order:
        if len(rows) == request.examples:
            break
        units = pre_tokens(texts[t])  # whitespace runs count for the position, are never read
        candidates = [i for i, (s, e) in enumerate(units[:max_position])
                      if not texts[t][s:e].isspace()]
        if len(units) < max_position or not candidates:
            continue
        wanted = rng.randrange(max_position)
        # the readable unit nearest the drawn position (whitespace runs are skipped)
        p = min(candidates, key=lambda i: (abs(i - wanted), i))
        start, end = units[p]
        text = texts[t][:end]
        rows.append((document_id(texts[t]), text, start, end, p))
    if len(rows) < request.examples:
        raise DatasetError(
            f"dataset '{name}': only {len(rows)} texts of {source} have >= {max_position} "
            f"pre-tokens; {request.examples} examples requested (lower examples or max_position)"
        )
    bin_of = [next(b for b, (lo, hi) in enumerate(bins) if lo <= p <= hi) for *_, p in rows]
    frame = pl.DataFrame(
        rows, orient="row",
        schema={"document_id": pl.String, "text": pl.String, "span_start": pl.Int64,
                "span_end": pl.Int64, "position": pl.Int64},
    ).with_columns(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        stratum=pl.Series([f"bin:{b}" for b in bin_of]),
    )
    frame = with_split(frame, request.test_fraction, request.seed)
    regression = frame.select(
        feature=pl.lit("position"), example_id="example_id", label=pl.lit(None, pl.Boolean),
        target=pl.col("position").cast(pl.Float64),
    )
    binned = [
        frame.select(
            feature=pl.lit(f"position:{lo}-{hi}"), example_id="example_id",
            label=pl.col("position").is_between(lo, hi), target=pl.lit(None, pl.Float64),
        )
        for lo, hi in bins
    ]
    return write_feature_dataset(
        out_dir, name=name, category="position", aggregation=request.aggregation,
        examples=frame, labels=pl.concat([regression, *binned]),
        meta={
            "description": "Token position in pre-tokens: a regression target ('position') "
            "and one-vs-rest position bins (see sparseprobe.datasets.position).",
            "source": source, "max_position": max_position, "bin_width": request.bin_width,
            "seed": request.seed, "test_fraction": request.test_fraction,
        },
    )


def build_position_pile(paths: list[Path], out_dir: Path, *, max_documents: int | None = None,
                        pile_sets: list[str] | None = None, name: str = "position",
                        **request: Any) -> FeatureDataset:
    """The position dataset over Pile documents (the paper's source): shards you provide, read
    in order up to ``max_documents`` (optionally only ``pile_sets``); ``request``: the fields of
    :class:`PositionRequest`."""
    from sparseprobe.datasets.pile import iter_pile

    texts = [doc.text for doc in iter_pile(paths, max_documents=max_documents,
                                           pile_sets=pile_sets)]
    return position_dataset(texts, out_dir, name=name,
                            source=f"Pile shards {[Path(p).name for p in paths]}", **request)


def build_position(sae_probes_wheel: Path, out_dir: Path, *, corpora: list[str],
                   name: str = "position", **request: Any) -> FeatureDataset:
    """The position dataset over texts of the sae-probes ``corpora`` (stems, e.g.
    ``97_news_class``): offline, from the pinned sae-probes wheel."""
    texts: list[str] = []
    with open_wheel(sae_probes_wheel) as wheel:
        for stem in corpora:
            prompts = sae_probes_table(wheel, stem)["prompt"].drop_nulls()
            texts += prompts.unique(maintain_order=True).to_list()
    return position_dataset(
        texts, out_dir, name=name,
        source=f"sae-probes wheel {Path(sae_probes_wheel).name} ({', '.join(corpora)})", **request,
    )
