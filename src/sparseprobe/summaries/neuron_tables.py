"""The neuron tables: every single-neuron probe, each feature's best single neuron (table 3)
and the neurons above an F1 threshold (table 4); read back by
:mod:`sparseprobe.summaries.neurons`.

Definitions (best layer, sweep, ...): :mod:`sparseprobe.summaries`.
"""

from __future__ import annotations

import polars as pl

from sparseprobe.summaries.model import read_probe_summaries, require_columns

NOT_NEURON_METHODS = ("dense", "random_basis", "shuffled_labels")
"""Methods whose k = 1 rows are not a probe on one of the model's neurons."""
NEURON_COLUMNS = [
    "model", "family", "n_parameters", "n_layers", "dataset", "category", "feature", "layer",
    "relative_depth", "neuron", "method", "mcc", "f1", "precision", "recall", "coef",
    "f1_ci_low", "f1_ci_high",
]


def single_neuron_probes(probes: pl.DataFrame) -> pl.DataFrame:
    """Every single-neuron probe (see the module docstring) as a neuron-table row, best first
    within each (model, dataset, feature): F1 descending, then MCC descending, shallower
    layer, lower neuron index, method name (so ties resolve the same way every run)."""
    require_columns(probes, ["category"], "single-neuron probes")
    rows = probes.filter(
        (pl.col("task") == "classification") & (pl.col("k") == 1)
        & ~pl.col("method").is_in(NOT_NEURON_METHODS) & pl.col("f1").is_not_null()
        & (pl.col("neurons").list.len() == 1)
    )
    return (
        rows.select(
            "model", "family", "n_parameters", "n_layers", "dataset", "category", "feature",
            "layer",
            relative_depth=(pl.col("layer") + 1) / pl.col("n_layers"),
            neuron=pl.col("neurons").list.first(),
            method="method", mcc="mcc", f1="f1", precision="precision", recall="recall",
            coef=pl.col("coefficients").list.first().cast(pl.Float64),
            f1_ci_low="f1_ci_low", f1_ci_high="f1_ci_high",
        )
        .sort(["model", "dataset", "feature", "f1", "mcc", "layer", "neuron", "method"],
              descending=[False, False, False, True, True, False, False, False],
              nulls_last=True)
    )


def best_neurons(probes: pl.DataFrame) -> pl.DataFrame:
    """Table 3: the best single neuron of every binary feature over all layers, one row per
    (model, dataset, feature), sorted by model, dataset, feature.

    Establishes: this neuron alone, with a probe fitted on the train split, reached this test
    F1. Does not establish: that it is the only such neuron, that it encodes the feature
    causally, or an unbiased F1 (it is the best of many candidates chosen on the test split).
    """
    return (
        single_neuron_probes(probes)
        .group_by(["model", "dataset", "feature"], maintain_order=True).first()
        .select(NEURON_COLUMNS)
    )


def neurons_above(probes: pl.DataFrame, min_f1: float) -> pl.DataFrame:
    """Table 4: every distinct (model, dataset, feature, layer, neuron) single-neuron probe with
    test F1 >= ``min_f1`` (a neuron probed by several methods appears once, with its best row),
    sorted by model, dataset, feature, F1 descending (then layer, neuron). Its count is
    optimistic for the same reason as table 3: the F1 that admits a neuron is a test F1."""
    return (
        single_neuron_probes(probes)
        .group_by(["model", "dataset", "feature", "layer", "neuron"], maintain_order=True)
        .first()
        .filter(pl.col("f1") >= min_f1)
        .sort(["model", "dataset", "feature", "f1", "layer", "neuron"],
              descending=[False, False, False, True, False, False])
        .select(NEURON_COLUMNS)
    )


def write_neuron_tables(probes_path, best_parquet, best_csv, above_parquet, above_csv,
                        min_f1: float) -> None:
    """Tables 3 and 4 of one model, each as Parquet and CSV (the paper's neuron-list format)."""
    probes = read_probe_summaries([probes_path])
    for table, parquet, csv in ((best_neurons(probes), best_parquet, best_csv),
                                (neurons_above(probes, min_f1), above_parquet, above_csv)):
        table.write_parquet(parquet)
        table.write_csv(csv)
