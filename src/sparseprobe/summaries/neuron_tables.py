"""The neuron tables: every single-neuron probe, each feature's best single neuron (table 3)
and the neurons above an F1 threshold (table 4); read back by
:mod:`sparseprobe.summaries.neurons`.

Definitions (best layer, sweep, ...): :mod:`sparseprobe.summaries`.
"""

from __future__ import annotations

import polars as pl

from sparseprobe.summaries.model import (
    read_probe_summaries,
    require_columns,
    trivial_f1,
    with_choice,
)

NOT_NEURON_METHODS = ("dense", "random_basis", "shuffled_labels", "shuffled_dense")
"""Methods whose k = 1 rows are not a probe on one of the model's neurons."""
NEURON_COLUMNS = [
    "model", "family", "n_parameters", "n_layers", "dataset", "category", "feature", "layer",
    "relative_depth", "neuron", "method", "mcc", "f1", "precision", "recall", "coef",
    "f1_ci_low", "f1_ci_high", "selected_on", "val_f1", "val_mcc", "n_test_positive",
    "n_val_positive", "f1_trivial",
]
FEATURE_KEYS = ["model", "dataset", "feature"]


def single_neuron_probes(probes: pl.DataFrame, selection: str = "validation") -> pl.DataFrame:
    """Every single-neuron probe (see the module docstring) as a neuron-table row, best first
    within each (model, dataset, feature) by the split ``selection`` chooses on
    (:func:`~sparseprobe.summaries.model.with_choice`: validation F1 unless the feature's rows
    lack it, then test F1, labelled in ``selected_on``), then MCC on that split, shallower
    layer, lower neuron index, method name (so ties resolve the same way every run). ``f1``,
    ``mcc``, ``precision``, ``recall`` are always the test split's; ``val_f1`` / ``val_mcc``
    the validation split's."""
    require_columns(probes, ["category"], "single-neuron probes")
    rows = probes.filter(
        (pl.col("task") == "classification") & (pl.col("k") == 1)
        & ~pl.col("method").is_in(NOT_NEURON_METHODS) & pl.col("f1").is_not_null()
        & (pl.col("neurons").list.len() == 1)
    )
    rows = with_choice(rows, FEATURE_KEYS, selection).with_columns(
        _pick_mcc=pl.when(pl.col("selected_on") == "validation").then(pl.col("val_mcc"))
        .otherwise(pl.col("mcc")))
    return (
        rows.select(
            "model", "family", "n_parameters", "n_layers", "dataset", "category", "feature",
            "layer",
            relative_depth=(pl.col("layer") + 1) / pl.col("n_layers"),
            neuron=pl.col("neurons").list.first(),
            method="method", mcc="mcc", f1="f1", precision="precision", recall="recall",
            coef=pl.col("coefficients").list.first().cast(pl.Float64),
            f1_ci_low="f1_ci_low", f1_ci_high="f1_ci_high", selected_on="selected_on",
            val_f1="val_f1", val_mcc="val_mcc", n_test_positive="n_test_positive",
            n_val_positive="n_val_positive",
            f1_trivial=trivial_f1(pl.col("n_test_positive"), pl.col("n_test")),
            _pick="_pick", _pick_mcc="_pick_mcc",
        )
        .sort(["model", "dataset", "feature", "_pick", "_pick_mcc", "layer", "neuron", "method"],
              descending=[False, False, False, True, True, False, False, False],
              nulls_last=True)
    )


def best_neurons(probes: pl.DataFrame, selection: str = "validation") -> pl.DataFrame:
    """Table 3: the best single neuron of every binary feature over all layers, chosen on
    ``selection``'s split (:func:`single_neuron_probes`), one row per (model, dataset,
    feature), sorted by model, dataset, feature.

    Establishes (chosen on validation): this neuron alone, with a probe fitted on the train
    split, reached this test F1, and the test split played no part in choosing it, so the F1 is
    an honest estimate for that one neuron. Does not establish: that it is the only such
    neuron, or that it encodes the feature causally. With ``selection: test`` its F1 is the
    best of many candidates on the split it is reported on (optimistic; the paper's protocol).
    """
    return (
        single_neuron_probes(probes, selection)
        .group_by(FEATURE_KEYS, maintain_order=True).first()
        .select(NEURON_COLUMNS)
    )


def neurons_above(probes: pl.DataFrame, min_f1: float, selection: str = "validation"
                  ) -> pl.DataFrame:
    """Table 4: every distinct (model, dataset, feature, layer, neuron) single-neuron probe
    whose F1 on ``selection``'s split is >= ``min_f1`` (validation F1 by default: test F1
    decides nothing; a neuron probed by several methods appears once, with its best row),
    sorted by model, dataset, feature, that F1 descending (then layer, neuron). ``f1`` is the
    test F1 of each admitted neuron."""
    return (
        single_neuron_probes(probes, selection)
        .group_by(["model", "dataset", "feature", "layer", "neuron"], maintain_order=True)
        .first()
        .filter(pl.col("_pick") >= min_f1)
        .sort(["model", "dataset", "feature", "_pick", "layer", "neuron"],
              descending=[False, False, False, True, False, False])
        .select(NEURON_COLUMNS)
    )


def write_neuron_tables(probes_path, best_parquet, best_csv, above_parquet, above_csv,
                        min_f1: float, selection: str = "validation") -> None:
    """Tables 3 and 4 of one model (chosen on ``selection``), each as Parquet and CSV (the
    paper's neuron-list format)."""
    probes = read_probe_summaries([probes_path])
    for table, parquet, csv in ((best_neurons(probes, selection), best_parquet, best_csv),
                                (neurons_above(probes, min_f1, selection), above_parquet,
                                 above_csv)):
        table.write_parquet(parquet)
        table.write_csv(csv)
