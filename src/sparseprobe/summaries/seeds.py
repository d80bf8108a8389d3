"""Across training seeds: which neuron-level claims about a ladder rung hold in its replicates.

A replicate (``ladder.seeds``; model ``{rung}-seed{s}``) is the same rung trained again with its
own initialisation and data order on the same tokens. Neuron indices mean nothing across seeds
(no alignment is attempted), so each claim is compared at the level it is made:

- *single*: the feature's best single neuron (table 3, chosen on validation) reaches test F1
  >= ``min_f1``;
- *layer*: that neuron sits in the same layer in every seed;
- *ablation*: zeroing it raises the feature's loss more than other texts' (``p_holm`` <
  ``alpha``; only where the run ablated the feature in every seed).

What it establishes: whether a claim is a property of the rung or of one training run. What it
does not: two or three seeds are not a distribution, so a claim that holds in every seed here
may still fail in another; and a claim that fails may hold for a neuron other than the best one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import polars as pl

from sparseprobe.config import SEED_SUFFIX

CLAIM_F1 = 0.9
CLAIM_ALPHA = 0.05
_REPLICATE = re.compile(rf"^(?P<rung>.+){re.escape(SEED_SUFFIX)}(?P<seed>\d+)$")

CLAIM_COLUMNS = ["rung", "dataset", "feature", "seeds", "f1", "layers", "claim_single",
                 "holds_single", "same_layer", "claim_ablation", "holds_ablation"]


def replicates(models: Iterable[str]) -> dict[str, list[str]]:
    """Rung -> its model keys (the rung's own model first, then its replicates by seed), for
    every model of ``models`` that has at least one replicate ``{rung}-seed{s}`` among them."""
    names = list(models)
    out: dict[str, list[str]] = {}
    for name in names:
        match = _REPLICATE.match(name)
        if match and match["rung"] in names:
            out.setdefault(match["rung"], [match["rung"]]).append(name)
    for keys in out.values():
        keys[1:] = sorted(keys[1:], key=lambda k: int(_REPLICATE.match(k)["seed"]))
    return out


def seed_claims(neurons: Mapping[str, pl.DataFrame], rung: str,
                ablations: Mapping[str, pl.DataFrame] | None = None,
                min_f1: float = CLAIM_F1, alpha: float = CLAIM_ALPHA) -> pl.DataFrame:
    """Per binary (dataset, feature) of one rung: each seed's best single neuron and whether
    the rung's claims hold in every seed (:data:`CLAIM_COLUMNS`). ``neurons``: model key ->
    its table 3 (``best_neurons``), the rung's own model first; ``ablations``: model key -> its
    ablation summary (``p_holm``), optional.

    ``f1`` and ``layers`` list the seeds' values in ``seeds`` order ("0.95 / 0.91", "L1 / L3");
    ``claim_single``: the rung's own model makes the claim; ``holds_single``: every seed does;
    ``same_layer``: every seed's best neuron is in one layer; ``claim_ablation`` /
    ``holds_ablation``: the same for the ablation claim (null where a seed was not ablated)."""
    keys = list(neurons)
    own = keys[0]
    per_seed = []
    for key in keys:
        table = neurons[key]
        if "task" in table.columns:
            table = table.filter(pl.col("task") == "classification")
        part = table.select("dataset", "feature", pl.col("f1").alias(f"f1__{key}"),
                            pl.col("layer").alias(f"layer__{key}"))
        if ablations and key in ablations and ablations[key].height:
            significant = ablations[key].select(
                "dataset", "feature", (pl.col("p_holm") < alpha).alias(f"abl__{key}"))
            part = part.join(significant, on=["dataset", "feature"], how="left")
        else:
            part = part.with_columns(pl.lit(None, pl.Boolean).alias(f"abl__{key}"))
        per_seed.append(part)
    joined = per_seed[0]
    for part in per_seed[1:]:
        joined = joined.join(part, on=["dataset", "feature"], how="left")
    f1s = [pl.col(f"f1__{k}") for k in keys]
    layers = [pl.col(f"layer__{k}") for k in keys]
    ablated = [pl.col(f"abl__{k}") for k in keys]
    return joined.select(
        pl.lit(rung).alias("rung"), "dataset", "feature",
        pl.lit(" / ".join(keys)).alias("seeds"),
        pl.concat_str([f.round(3).cast(pl.String).fill_null("-") for f in f1s],
                      separator=" / ").alias("f1"),
        pl.concat_str([("L" + layer.cast(pl.String)).fill_null("-") for layer in layers],
                      separator=" / ").alias("layers"),
        (pl.col(f"f1__{own}") >= min_f1).fill_null(False).alias("claim_single"),
        pl.all_horizontal([(f >= min_f1).fill_null(False) for f in f1s]).alias("holds_single"),
        pl.all_horizontal([layer == layers[0] for layer in layers[1:]] or [pl.lit(True)])
        .fill_null(False).alias("same_layer"),
        pl.col(f"abl__{own}").alias("claim_ablation"),
        pl.when(pl.any_horizontal([a.is_null() for a in ablated])).then(None)
        .otherwise(pl.all_horizontal(ablated)).alias("holds_ablation"),
    ).sort("dataset", "feature")


SUMMARY_COLUMNS = ["rung", "seeds", "n_features", "n_single_claims", "n_single_hold",
                   "n_same_layer", "n_ablation_claims", "n_ablation_hold"]


def seed_summary(claims: pl.DataFrame) -> pl.DataFrame:
    """Per rung (:data:`SUMMARY_COLUMNS`): binary features, the rung's own single-neuron
    claims and how many hold in every seed, the features whose best neuron keeps its layer,
    and the rung's ablation claims and how many hold in every seed."""
    claim_ablation = pl.col("claim_ablation").fill_null(False)
    return claims.group_by("rung", "seeds", maintain_order=True).agg(
        pl.len().cast(pl.Int32).alias("n_features"),
        pl.col("claim_single").sum().cast(pl.Int32).alias("n_single_claims"),
        (pl.col("claim_single") & pl.col("holds_single")).sum().cast(pl.Int32)
        .alias("n_single_hold"),
        pl.col("same_layer").sum().cast(pl.Int32).alias("n_same_layer"),
        claim_ablation.sum().cast(pl.Int32).alias("n_ablation_claims"),
        (claim_ablation & pl.col("holds_ablation").fill_null(False)).sum().cast(pl.Int32)
        .alias("n_ablation_hold"),
    ).select(SUMMARY_COLUMNS)
