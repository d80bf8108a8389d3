"""Aggregations of the long-format probe results (polars), and the F1-vs-k figure.

Definitions (used by every table here):
- *best layer* of (model, dataset, feature, method, k): the layer whose probe has the highest test
  F1 (regression targets: the highest test R^2; ties: the shallowest). Choosing the layer on the test split makes these F1s an optimistic
  summary of the sweep; they are descriptive, not an unbiased estimate of a fresh probe.
- *relative depth* of layer L in an n-layer model: (L + 1) / n.
- *F1 at k* for k larger than a model's d_mlp reads the k = d_mlp probe (the grid is capped).
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from sparseprobe.results import read_results, write_results

_MODEL_COLUMNS = ["model", "family", "n_parameters", "n_layers", "d_mlp"]


def best_layers(probes: pl.DataFrame) -> pl.DataFrame:
    """One row per (model, dataset, feature, method, k): the best layer and its metrics."""
    keys = [*_MODEL_COLUMNS, "dataset", "feature", "task", "method", "k"]
    return (
        probes.with_columns(_score=pl.coalesce("f1", "r2"))
        .sort([*keys, "_score", "layer"], descending=[False] * len(keys) + [True, False])
        .group_by(keys, maintain_order=True)
        .first()
        .select(
            *keys,
            best_layer="layer",
            relative_depth=(pl.col("layer") + 1) / pl.col("n_layers"),
            f1="f1",
            mcc="mcc",
            roc_auc="roc_auc",
            pr_auc="pr_auc",
            r2="r2",
            mae="mae",
            n_test="n_test",
        )
        .sort(["dataset", "feature", "method", "k"])
    )


def write_model_summary(probe_files, probes_out, best_out) -> None:
    """Concatenate one model's probe files (schema-checked) and write its best-layer table."""
    probes = read_results(list(probe_files))
    write_results(probes, Path(probes_out))
    best_layers(probes).write_parquet(best_out)


def scaling_table(probes: pl.DataFrame, k_values: list[int]) -> pl.DataFrame:
    """Per (dataset, feature, model): best-layer F1 at each k in ``k_values`` and dense.

    Columns: model columns, dataset, feature, task, ``f1_k{k}`` / ``layer_k{k}`` per k,
    ``f1_dense`` / ``layer_dense``, and for regression targets ``r2_k{k}`` / ``r2_dense`` (F1
    columns are then null); rows sorted by dataset, feature and model size.
    """
    best = best_layers(probes)
    keys = [*_MODEL_COLUMNS, "dataset", "feature", "task"]
    table = best.select(keys).unique(maintain_order=True)
    picks = [(f"k{k}", pl.col("method").is_in(["mean_diff", "correlation"]) & (
        pl.col("k") == pl.min_horizontal(pl.lit(k), pl.col("d_mlp")))) for k in k_values]
    picks.append(("dense", pl.col("method") == "dense"))
    for suffix, condition in picks:
        part = best.filter(condition).select(
            *keys, pl.col("f1").alias(f"f1_{suffix}"), pl.col("r2").alias(f"r2_{suffix}"),
            pl.col("best_layer").alias(f"layer_{suffix}"),
        )
        table = table.join(part, on=keys, how="left")
    return table.sort(["dataset", "feature", "n_parameters"])


def write_scaling_table(model_probe_files, out_path, k_values: list[int]) -> None:
    """Read the per-model probe tables of one family and write its scaling table."""
    scaling_table(read_results(list(model_probe_files)), k_values).write_parquet(out_path)


def plot_f1_vs_k(model_probe_files, out_path, dataset: str) -> None:
    """One PNG for ``dataset``: a panel per feature, test F1 (best layer) against k on a log
    axis, a line per model coloured by size; the dense probe as a marker at the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = best_layers(read_results(list(model_probe_files)).filter(pl.col("dataset") == dataset))
    features = best["feature"].unique(maintain_order=True).to_list()
    models = best.select("model", "n_parameters").unique().sort("n_parameters")["model"].to_list()
    cols = min(5, max(1, len(features)))
    rows = math.ceil(len(features) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False,
                             sharex=True, sharey=True)
    cmap = plt.get_cmap("viridis")
    for ax, feature in zip(axes.flat, features):
        sub = best.filter(pl.col("feature") == feature)
        metric = "r2" if sub["task"][0] == "regression" else "f1"
        for i, model in enumerate(models):
            color = cmap(i / max(1, len(models) - 1))
            line = sub.filter((pl.col("model") == model)
                              & pl.col("method").is_in(["mean_diff", "correlation"]))
            line = line.sort("k")
            ax.plot(line["k"], line[metric], color=color, label=model, lw=1.2, marker=".", ms=3)
            dense = sub.filter((pl.col("model") == model) & (pl.col("method") == "dense"))
            if dense.height:
                ax.scatter([line["k"].max() * 1.6], dense[metric], color=color, marker="D", s=10)
        ax.set_xscale("log", base=2)
        ax.set_title(feature if metric == "f1" else f"{feature} (R$^2$)", fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(features):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("k (neurons); diamond = dense")
    for ax in axes[:, 0]:
        ax.set_ylabel("test F1 (best layer)")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{dataset}: k-sparse probe F1 by model size", fontsize=11)
    fig.tight_layout()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
