"""The training axis: how sparsely a feature is represented at each training checkpoint.

A model entry with ``revisions`` becomes one model key per checkpoint (``pythia-70m@step1000``,
see :func:`sparseprobe.config.catalog_spec`); their probe rows are ordinary result rows. This
module lays them out by training step, beside the size axis of
:func:`sparseprobe.summaries.scaling.scaling_table` (whose definitions, e.g. best layer, it reuses).

Every choice (best layer, best single neuron) is made on ``summaries.selection``'s split, as in
the scaling table (validation by default; ``selected_on`` says which), and reported on test.
What it does not establish: checkpoints of one run share its data order, so differences
between steps are one training run's trajectory, not a distribution over runs.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sparseprobe.probing.results import read_results
from sparseprobe.summaries.model import best_layers
from sparseprobe.summaries.scaling import (
    MIN_TEST_POSITIVES,
    SWEEP_METHODS,
    first_k_reaching,
    scaling_table,
)


def k_to_reach(probes: pl.DataFrame, fraction: float = 0.9, selection: str = "validation"
               ) -> pl.DataFrame:
    """Per (model, dataset, feature): the smallest k whose best-layer mean-difference probe
    reaches ``fraction`` of the dense probe's best-layer F1 (regression: R^2), as column
    ``k_{percent}pct_dense``; null when no k in the grid reaches it, or there is no dense probe
    or its score is <= 0. The same definition as the scaling table's ``k_90``/``k_95``
    (:func:`sparseprobe.summaries.scaling.first_k_reaching`). A small value means the feature is
    read from few neurons. Layers are chosen on ``selection``'s split."""
    column = f"k_{round(100 * fraction)}pct_dense"
    best = best_layers(probes, selection).with_columns(_score=pl.coalesce("f1", "r2"))
    keys = ["model", "dataset", "feature"]
    dense = best.filter(pl.col("method") == "dense").select(*keys, _dense="_score")
    sweep = best.filter(pl.col("method").is_in(SWEEP_METHODS))
    reached = first_k_reaching(sweep, dense, keys, fraction, column)
    return best.select(keys).unique().join(reached, on=keys, how="left")


def training_table(probes: pl.DataFrame, checkpoints: list[dict], k_values: list[int],
                   selection: str = "validation",
                   min_test_positives: int = MIN_TEST_POSITIVES) -> pl.DataFrame:
    """Per (dataset, feature, swept model, checkpoint): the scaling table's best-layer F1 at each
    k of ``k_values`` and dense (``f1_k1``, ..., ``layer_k1``, ...), ``k_90pct_dense``, and the
    checkpoint's ``base_model``, ``checkpoint`` label and training ``step``; sorted by dataset,
    feature, model size and step. ``checkpoints`` rows: model, base_model, checkpoint, step.
    ``selection`` and ``min_test_positives`` as in :func:`~sparseprobe.summaries.scaling.
    scaling_table` (the config's ``summaries`` block)."""
    keys = pl.DataFrame(checkpoints, schema={"model": pl.String, "base_model": pl.String,
                                             "checkpoint": pl.String, "step": pl.Int64})
    probes = probes.filter(pl.col("model").is_in(keys["model"].implode()))
    # the scaling table's k_90 is k_to_reach at 0.9 (the same definition, already computed)
    table = (
        scaling_table(probes, k_values, selection, min_test_positives)
        .with_columns(k_90pct_dense=pl.col("k_90"))
        .join(keys, on="model", how="left")
    )
    front = ["base_model", "checkpoint", "step"]
    return table.select(*front, pl.exclude(front)).sort(
        ["dataset", "feature", "n_parameters", "base_model", "step", "checkpoint"],
        nulls_last=True)


def write_training_table(model_probe_files, out_path, checkpoints: list[dict],
                         k_values: list[int], selection: str = "validation",
                         min_test_positives: int = MIN_TEST_POSITIVES) -> None:
    """Read the per-model probe tables of one family's checkpoints and write its training table."""
    table = training_table(read_results(list(model_probe_files)), checkpoints, k_values,
                           selection, min_test_positives)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    table.write_parquet(out_path)
