"""k-sparse probes of one layer: the paper's heuristic sweep and the dense ceiling.

Binary features get logistic-regression probes (below). Regression targets (e.g. a token's
position, the paper's side experiment) get the same sweep with |Pearson correlation| on the train
split as the ranking and a ridge regression (penalty chosen by leave-one-out on the train split,
sklearn ``RidgeCV``) as the probe; their rows carry R^2 and mean absolute error on the test split.

For each feature: activations are scaled by ``scale`` x the per-neuron train std (no centering,
as in the paper); neurons are ranked by |mean(pos) - mean(neg)| on the train split only; for each
k a class-balanced L2 logistic regression is fitted on the top-k neurons; the dense probe uses
every neuron. Metrics come from sklearn.metrics on the test split, ROC-AUC and PR-AUC from the
decision scores (not from hard predictions, the reference code's bug).

What a row establishes: how well a linear read-out of these k neurons separates the feature on
held-out examples. It does not establish that the model uses those neurons for the feature.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    matthews_corrcoef,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from sparseprobe.errors import ProbeError

PAPER_K_GRID = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 32, 64, 128, 256)
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-4, 2, 13))
"""Ridge penalties tried by leave-one-out on the train split (regression targets)."""
CLASSIFICATION_METRICS = ("f1", "precision", "recall", "accuracy", "balanced_accuracy", "mcc",
                          "roc_auc", "pr_auc")
REGRESSION_METRICS = ("r2", "mae")


@dataclass(frozen=True)
class ProbeSettings:
    """Probe hyper-parameters (paper defaults)."""

    k_grid: tuple[int, ...] = PAPER_K_GRID
    dense: bool = True
    C: float = 1.0
    max_iter: int = 1000
    scale: float = 10.0
    seed: int = 42


@dataclass(frozen=True)
class FeatureData:
    """One feature's design matrices on one layer (already split). ``y`` is bool for a binary
    feature and float for a regression target (``task``)."""

    feature: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"


def scale_by_train_std(x_train: np.ndarray, x_test: np.ndarray, factor: float):
    """Divide both splits by ``factor`` x the train std per neuron (dead neurons: by 1)."""
    std = x_train.std(axis=0)
    denom = np.where(std > 0, factor * std, 1.0)
    return x_train / denom, x_test / denom


def rank_mean_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Neuron indices sorted by |mean over positives - mean over negatives|, largest first.

    Ties break by the lower neuron index (stable sort), so rankings are deterministic.
    """
    diff = np.abs(x[y].mean(axis=0) - x[~y].mean(axis=0))
    return np.argsort(-diff, kind="stable")


def rank_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Neuron indices sorted by |Pearson correlation with the target|, largest first (constant
    neurons last; ties by the lower index)."""
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    denom = np.sqrt((xc**2).sum(axis=0) * (yc**2).sum())
    corr = np.divide(xc.T @ yc, denom, out=np.zeros(x.shape[1]), where=denom > 0)
    return np.argsort(-np.abs(corr), kind="stable")


def probe_metrics(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Test-split metrics from sklearn.metrics; AUCs use the decision scores."""
    return {
        **dict.fromkeys(REGRESSION_METRICS),
        "f1": f1_score(y_true, y_pred, zero_division=0.0),
        "precision": precision_score(y_true, y_pred, zero_division=0.0),
        "recall": recall_score(y_true, y_pred, zero_division=0.0),
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "mcc": matthews_corrcoef(y_true, y_pred),
        "roc_auc": roc_auc_score(y_true, scores),
        "pr_auc": average_precision_score(y_true, scores),
    }


def fit_probe(data: FeatureData, neurons: np.ndarray, settings: ProbeSettings) -> dict:
    """Fit a class-balanced L2 logistic regression on ``neurons`` and score it on the test split.

    The returned dict has the probe columns of the result schema (neurons, coefficients,
    intercept, metrics, converged, n_iter, fit_seconds). Non-convergence is recorded, not hidden.
    """
    model = LogisticRegression(
        C=settings.C, class_weight="balanced", max_iter=settings.max_iter, solver="lbfgs"
    )
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(data.x_train[:, neurons], data.y_train)
    seconds = time.perf_counter() - started
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    scores = model.decision_function(data.x_test[:, neurons])
    pred = scores > 0
    return {
        "k": len(neurons),
        "neurons": neurons.astype(np.int32).tolist(),
        "coefficients": model.coef_[0].astype(np.float32).tolist(),
        "intercept": float(model.intercept_[0]),
        **probe_metrics(data.y_test, pred, scores),
        "converged": converged,
        "n_iter": int(model.n_iter_[0]),
        "fit_seconds": seconds,
    }


def fit_regression_probe(data: FeatureData, neurons: np.ndarray, settings: ProbeSettings) -> dict:
    """Fit a ridge regression of the target on ``neurons`` (penalty by efficient leave-one-out
    on the train split only) and score it on the test split: R^2 and mean absolute error."""
    model = RidgeCV(alphas=RIDGE_ALPHAS)
    started = time.perf_counter()
    model.fit(data.x_train[:, neurons], data.y_train)
    seconds = time.perf_counter() - started
    pred = model.predict(data.x_test[:, neurons])
    return {
        "k": len(neurons),
        "neurons": neurons.astype(np.int32).tolist(),
        "coefficients": np.atleast_1d(model.coef_).astype(np.float32).tolist(),
        "intercept": float(model.intercept_),
        **dict.fromkeys(CLASSIFICATION_METRICS),
        "r2": float(r2_score(data.y_test, pred)),
        "mae": float(mean_absolute_error(data.y_test, pred)),
        "converged": True,  # closed form
        "n_iter": 0,
        "fit_seconds": seconds,
    }


def heuristic_sweep(data: FeatureData, settings: ProbeSettings) -> list[dict]:
    """Rank neurons on the train split (binary: mean difference, method ``mean_diff``;
    regression: |correlation|, method ``correlation``), then one probe per k (capped at d_mlp),
    plus the dense probe. Returns one dict per probe (method, k and the probe columns)."""
    regression = data.task == "regression"
    for split, y in (("train", data.y_train), ("test", data.y_test)):
        single = np.unique(y).size < 2 if regression else (y.all() or not y.any())
        if single:
            raise ProbeError(f"feature '{data.feature}': the {split} split has a single "
                             f"{'value' if regression else 'class'}")
    x_train, x_test = scale_by_train_std(data.x_train, data.x_test, settings.scale)
    scaled = FeatureData(data.feature, x_train, data.y_train, x_test, data.y_test, data.task)
    d_mlp = x_train.shape[1]
    if regression:
        method, ranking, fit = "correlation", rank_correlation(x_train, data.y_train), \
            fit_regression_probe
    else:
        method, ranking, fit = "mean_diff", rank_mean_difference(x_train, data.y_train), fit_probe
    rows = []
    for k in sorted({min(k, d_mlp) for k in settings.k_grid}):
        rows.append({"method": method, **fit(scaled, ranking[:k], settings)})
    if settings.dense:
        rows.append({"method": "dense", **fit(scaled, np.arange(d_mlp), settings)})
    return rows


def feature_data(dataset, activations: np.ndarray, feature: str) -> FeatureData:
    """Rows of ``activations`` labelled by ``feature``, split by the dataset's fixed split."""
    table = dataset.feature_table(feature)
    task = dataset.task(feature)
    ids = table["example_id"].to_numpy()
    if task == "regression":
        labels = table["target"].to_numpy().astype(np.float64)
    else:
        labels = table["label"].to_numpy().astype(bool)
    train = (table["split"] == "train").to_numpy()
    x = activations[ids]
    return FeatureData(feature, x[train], labels[train], x[~train], labels[~train], task)


def probe_layer(dataset, store_dir, layer: int, settings: ProbeSettings):
    """Every feature of ``dataset`` on one cached layer: result rows as a schema frame."""
    from sparseprobe.store import read_layer, read_store_info
    from sparseprobe.results import to_frame

    info = read_store_info(store_dir)
    activations = read_layer(store_dir, layer, dataset)
    rows = []
    for feature in dataset.features:
        data = feature_data(dataset, activations, feature)
        context = {
            "model": info.model, "family": info.family, "n_parameters": info.n_parameters,
            "n_layers": info.n_layers, "d_mlp": info.d_mlp, "dataset": dataset.name,
            "hook": info.hook.replace("{L}", str(layer)), "aggregation": info.aggregation,
            "layer": layer, "feature": feature, "task": data.task,
            "n_train": len(data.y_train), "n_test": len(data.y_test),
            "n_train_positive": None if data.task == "regression" else int(data.y_train.sum()),
            "n_test_positive": None if data.task == "regression" else int(data.y_test.sum()),
            "seed": settings.seed,
        }
        rows += [{**context, **row} for row in heuristic_sweep(data, settings)]
    return to_frame(rows)


def probe_layers(dataset, store_dir, layers: list[int], settings: ProbeSettings):
    """:func:`probe_layer` on each of ``layers`` (one probe job), as one schema frame."""
    import polars as pl

    if not layers:
        raise ProbeError(f"{store_dir}: no layers to probe")
    return pl.concat([probe_layer(dataset, store_dir, layer, settings) for layer in layers])
