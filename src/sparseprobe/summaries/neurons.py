"""Reading the per-model neuron table (``results/summaries/models/{model}/neurons.parquet``).

The table is written by the summaries step (``sparseprobe.summaries.neuron_tables``): one row
per binary (dataset, feature) of the model, the best single neuron over all layers: the k = 1
probe with the highest F1 on the split named in its ``selected_on`` column (the validation split
by default, so its test F1 is not inflated by the choice). This module reads and checks it for
the neuron case studies and the ablation, and ranks candidate neurons (``sparseprobe neurons``);
see docs/neurons.md.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sparseprobe.errors import NeuronStudyError

NEURON_COLUMNS: dict[str, type[pl.DataType]] = {
    "model": pl.String, "dataset": pl.String, "feature": pl.String, "layer": pl.Int32,
    "neuron": pl.Int32, "f1": pl.Float64, "mcc": pl.Float64, "coef": pl.Float64,
}
"""The columns this module needs (a subset of the table's documented columns), with dtypes."""


def check_neuron_table(table: pl.DataFrame, where: str) -> pl.DataFrame:
    """``table`` with the needed columns cast to their dtypes; NeuronStudyError naming ``where``
    and the column when one is missing or cannot be cast, or when a (dataset, feature) repeats."""
    missing = [c for c in NEURON_COLUMNS if c not in table.columns]
    if missing:
        raise NeuronStudyError(
            f"{where}: neuron table lacks column(s) {missing}; expected at least "
            f"{list(NEURON_COLUMNS)}"
        )
    try:
        table = table.with_columns(
            pl.col(c).cast(t, strict=True) for c, t in NEURON_COLUMNS.items()
        )
    except pl.exceptions.PolarsError as exc:
        raise NeuronStudyError(f"{where}: neuron table column has the wrong type: {exc}") from exc
    repeats = table.group_by("dataset", "feature").len().filter(pl.col("len") > 1)
    if repeats.height:
        pairs = repeats.select("dataset", "feature").rows()[:5]
        raise NeuronStudyError(
            f"{where}: expected one row per (dataset, feature), repeated: {pairs}"
        )
    return table


def read_neuron_table(path: str | Path) -> pl.DataFrame:
    """The checked neuron table at ``path`` (see :func:`check_neuron_table`)."""
    path = Path(path)
    if not path.is_file():
        raise NeuronStudyError(f"{path}: neuron table missing")
    return check_neuron_table(pl.read_parquet(path), str(path))


def top_neurons(table: pl.DataFrame, n: int) -> pl.DataFrame:
    """The ``n`` rows with the highest F1 on the split that chose them (``val_f1`` / ``val_mcc``
    where the table has them, else the test ``f1`` / ``mcc``, row by row; ties: higher MCC on
    that split, then dataset and feature name), with a 1-based ``rank`` column. Rows without an
    F1 never rank. The test split plays no part in the order of validation-chosen rows."""
    validated = {"val_f1", "val_mcc"} <= set(table.columns)
    f1 = pl.coalesce("val_f1", "f1") if validated else pl.col("f1")
    mcc = (pl.when(pl.col("val_f1").is_not_null()).then(pl.col("val_mcc"))
           .otherwise(pl.col("mcc")) if validated else pl.col("mcc"))
    return (
        table.filter(pl.col("f1").is_not_null())
        .sort([f1, mcc, pl.col("dataset"), pl.col("feature")],
              descending=[True, True, False, False], nulls_last=True)
        .head(n)
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int32))
    )


def neuron_of(table: pl.DataFrame, dataset: str, feature: str, where: str) -> dict:
    """The row of (dataset, feature) as a dict; NeuronStudyError naming ``where`` if absent."""
    rows = table.filter((pl.col("dataset") == dataset) & (pl.col("feature") == feature))
    if rows.height == 0:
        known = table.filter(pl.col("dataset") == dataset)["feature"].to_list()
        raise NeuronStudyError(
            f"{where}: no neuron for feature '{feature}' of dataset '{dataset}' "
            f"(the table has {known or 'no feature of that dataset'})"
        )
    return rows.row(0, named=True)


# --- the candidate list (``sparseprobe neurons``) ------------------------------------------------

RANK_METRIC = "val_f1"
"""The probe-table column that admits and ranks candidate neurons: the validation-split F1, held
out from the probe's training rows and from the test split, so the choice of neuron never sees
the split that reports it (``test_f1`` in the candidate list)."""

CANDIDATE_COLUMNS = [
    "rank", "dataset", "category", "feature", "layer", "neuron", "score", "test_f1",
    "other_feature", "other_score", "margin", "n_neurons", "specificity", "mcc", "context_page",
]


def _neuron_scores(probes: pl.DataFrame, metric: str) -> pl.DataFrame:
    """Every single-neuron probe of a binary feature (k = 1 on one of the model's neurons, as
    in table 4) as (dataset, category, feature, layer, neuron, score, mcc), its best row when
    several methods probed it. Rows without a score never count."""
    from sparseprobe.summaries.neuron_tables import NOT_NEURON_METHODS

    if metric not in probes.columns:
        raise NeuronStudyError(f"probe table lacks the ranking column {metric!r} "
                               f"(sparseprobe.summaries.neurons.RANK_METRIC)")
    rows = probes.filter(
        (pl.col("task") == "classification") & (pl.col("k") == 1)
        & ~pl.col("method").is_in(NOT_NEURON_METHODS) & pl.col(metric).is_not_null()
        & (pl.col("neurons").list.len() == 1))
    return (rows.select("dataset", "category", "feature", "layer",
                        neuron=pl.col("neurons").list.first().cast(pl.Int32),
                        score=pl.col(metric).cast(pl.Float64),
                        test_f1=pl.col("f1").cast(pl.Float64), mcc="mcc")
            .sort("score", "mcc", descending=True, nulls_last=True)
            .unique(["dataset", "feature", "layer", "neuron"], keep="first"))


def candidate_neurons(probes: pl.DataFrame, min_score: float, per_feature: int | None = None,
                      context_pages: pl.DataFrame | None = None,
                      metric: str = RANK_METRIC) -> pl.DataFrame:
    """Neurons that may be dedicated to a feature, one row per (dataset, layer, neuron), most
    specific first.

    A neuron is a candidate when its single-neuron probe reaches ``score`` >= ``min_score`` for
    some binary feature (its best such feature is the row's ``feature``). Per candidate:
    ``other_feature``/``other_score``, the best score the same neuron reaches for another
    feature of the dataset (null when it was searched for no other feature: the single-neuron
    search keeps a layer's top 30 neurons per feature, so a neuron outside them scores low);
    ``margin`` = score - other_score (other_score taken as 0 when null, so an upper bound then);
    ``n_neurons``, how many neurons of the model reach ``min_score`` for the feature (a feature
    that 50 neurons separate is easy, not evidence of a dedicated neuron); and
    ``specificity`` = margin / n_neurons, the order of the list (ties: score, then names).
    ``per_feature`` keeps the first rows of each feature; ``context_pages`` (the case-study
    index, columns dataset, feature, layer, neuron, context_page) adds the neuron's page.

    ``metric`` (default the validation F1) admits and orders the candidates; ``test_f1`` is the
    same probe's test-split F1, the number to report (it played no part in the choice).

    Establishes: which neurons to look at first. Does not establish that a neuron encodes the
    feature (the best of many candidates on the validation split; its test F1 is unbiased for
    that one neuron, not a claim that no other neuron does as well; see docs/neurons.md).
    """
    scores = _neuron_scores(probes, metric)
    keys = ["dataset", "layer", "neuron"]
    best = (scores.sort("score", "mcc", "feature", descending=[True, True, False],
                        nulls_last=True)
            .group_by(keys, maintain_order=True).head(2)
            .with_columns(pl.int_range(pl.len()).over(keys).alias("_order")))
    first = best.filter(pl.col("_order") == 0).drop("_order")
    second = best.filter(pl.col("_order") == 1).select(
        *keys, other_feature="feature", other_score="score")
    counts = (scores.filter(pl.col("score") >= min_score)
              .group_by("dataset", "feature").agg(n_neurons=pl.len().cast(pl.Int32)))
    table = (first.filter(pl.col("score") >= min_score)
             .join(second, on=keys, how="left")
             .join(counts, on=["dataset", "feature"], how="left")
             .with_columns(margin=pl.col("score") - pl.col("other_score").fill_null(0.0))
             .with_columns(specificity=pl.col("margin") / pl.col("n_neurons")))
    order = dict(by=["specificity", "score", "dataset", "feature", "layer", "neuron"],
                 descending=[True, True, False, False, False, False])
    table = table.sort(**order)
    if per_feature:
        table = (table.group_by("dataset", "feature", maintain_order=True).head(per_feature)
                 .sort(**order))
    pages = (context_pages.select("dataset", "feature", "layer", "neuron", "context_page")
             if context_pages is not None else
             pl.DataFrame(schema={"dataset": pl.String, "feature": pl.String,
                                  "layer": pl.Int32, "neuron": pl.Int32,
                                  "context_page": pl.String}))
    table = (table.join(pages.with_columns(pl.col("layer", "neuron").cast(pl.Int32)),
                        on=["dataset", "feature", "layer", "neuron"], how="left")
             .with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int32)))
    return table.select(CANDIDATE_COLUMNS).rename({"score": metric,
                                                   "other_score": f"other_{metric}"})


def context_pages(index_path: str | Path) -> pl.DataFrame | None:
    """The case-study index (``results/neurons/{model}/case_studies.parquet``) as (dataset,
    feature, layer, neuron, context_page: the path of the neuron's top-context page), or None
    when the run wrote no case studies."""
    index_path = Path(index_path)
    if not index_path.is_file():
        return None
    index = pl.read_parquet(index_path)
    pages = index_path.parent / "case_studies" / "contexts"
    return index.select("dataset", "feature", "layer", "neuron",
                        context_page=pl.lit(f"{pages}/") + pl.col("contexts"))
