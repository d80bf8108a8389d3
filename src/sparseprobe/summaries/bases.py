"""Across bases: the same models probed in their MLP neurons and in their residual stream.

With ``bases: [mlp, resid]`` every model is also probed in the residual stream after each block
(model ``{model}-resid``, family ``{family}-resid``: :data:`sparseprobe.config.BASES`). This
module puts a family's per-model means (table 6, :func:`~sparseprobe.summaries.scaling.
model_means`, with their bootstrap intervals over features) of every basis side by side.

What a comparison establishes: whether a feature is read as well from one unit (or k units) of
one basis as of the other, per model size. What it does not: the bases differ in width (a
GPT-NeoX MLP has 4 x d_model neurons, the residual stream d_model coordinates), so a top-k
probe picks from four times fewer units in the residual stream, and a residual coordinate is not
a privileged direction the way a neuron behind a nonlinearity is.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sparseprobe.config import CHECKPOINT_SEPARATOR
from sparseprobe.summaries.scaling import model_means

BASIS_COLUMNS = ["family", "basis", "model", "basis_model", "n_parameters", "category",
                 "n_features", "mean_f1_single", "mean_f1_single_ci_low",
                 "mean_f1_single_ci_high", "n_single_f1_ge_0_9", "n_single_f1_ge_0_9_ci_low",
                 "n_single_f1_ge_0_9_ci_high", "mean_f1_k1", "mean_f1_dense",
                 "mean_f1_dense_ci_low", "mean_f1_dense_ci_high"]


def base_model(key: str, basis: str) -> str:
    """The MLP model key of a basis variant's key (``ladder-7-resid`` -> ``ladder-7``;
    ``pythia-70m-resid@step1000`` -> ``pythia-70m@step1000``); ``mlp`` keys are their own."""
    if basis == "mlp":
        return key
    head, sep, checkpoint = key.partition(CHECKPOINT_SEPARATOR)
    return head.removesuffix(f"-{basis}") + sep + checkpoint


def basis_table(scaling: dict[str, pl.DataFrame], family: str) -> pl.DataFrame:
    """Per (basis, model, category and ``all``): table 6's means of each basis family's
    scaling table (table 5; ``scaling``: basis -> table), plus ``mean_f1_k{k}`` for every
    further ``f1_k{k}`` column, keyed by ``model`` (the MLP model's key, so rows of one model
    line up across bases) and ``basis_model`` (the key the basis was probed under)."""
    frames = []
    for basis, table in scaling.items():
        means = model_means(table)
        extra = [c for c in table.columns if c.startswith("f1_k") and c[4:].isdigit()
                 and c != "f1_k1"]
        if extra:
            binary = table.filter(pl.col("task") == "classification")
            keys = ["model", "category"]
            per_category = binary.group_by(keys).agg(pl.col(extra).mean())
            overall = binary.group_by("model").agg(pl.col(extra).mean()).with_columns(
                category=pl.lit("all"))
            joined = pl.concat([per_category, overall.select(per_category.columns)])
            means = means.join(joined.rename({c: f"mean_{c}" for c in extra}), on=keys,
                               how="left")
        frames.append(means.with_columns(
            family=pl.lit(family), basis=pl.lit(basis), basis_model=pl.col("model"),
            model=pl.col("model").map_elements(lambda key, b=basis: base_model(key, b),
                                               return_dtype=pl.String)))
    out = pl.concat(frames, how="diagonal")
    front = [c for c in BASIS_COLUMNS if c in out.columns]
    return out.select(*front, pl.exclude(front)).sort("category", "n_parameters", "basis")


def write_basis_table(scaling_paths: dict[str, str | Path], family: str,
                      out_path: str | Path) -> None:
    """Read each basis family's scaling table and write the family's basis comparison."""
    table = basis_table({basis: pl.read_parquet(path) for basis, path in scaling_paths.items()},
                        family)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    table.write_parquet(out_path)
