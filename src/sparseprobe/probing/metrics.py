"""What a probe's predictions score: the metrics of every result row and the test-F1 bootstrap.

Binary probes are scored from their decision scores and hard predictions with sklearn.metrics'
definitions, computed from one confusion count (sklearn's per-call validation cost more than most
fits; tests/test_probing.py checks every value against sklearn.metrics). The bootstrap interval
resamples the test split, the same resamples for every probe of a feature. What these numbers
establish is how well a probe separates held-out examples, nothing about the model's use of the
neurons.
"""

from __future__ import annotations

import functools

import numpy as np

CLASSIFICATION_METRICS = ("f1", "precision", "recall", "accuracy", "balanced_accuracy", "mcc",
                          "roc_auc", "pr_auc")
REGRESSION_METRICS = ("r2", "mae")
VALIDATION_METRICS = tuple(f"val_{m}" for m in (*CLASSIFICATION_METRICS, *REGRESSION_METRICS))
"""The validation-split copies of every metric (null where a feature has no validation part,
or its validation part holds a single class)."""


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, ties sharing their average rank (as scipy's rankdata)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(values)] - 1
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = (first[group] + last[group]) / 2.0 + 1.0
    return ranks


def probe_metrics(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Test-split metrics of a binary probe; AUCs use the decision scores.

    The same definitions as sklearn.metrics (f1/precision/recall with zero_division=0,
    balanced accuracy = mean per-class recall, MCC = 0 when undefined, ROC-AUC with tied scores
    counted half, PR-AUC = sklearn's uninterpolated average precision), computed from one
    confusion count: sklearn's per-call input validation cost ~40 ms per probe, more than most
    fits. tests/test_probing.py checks every value against sklearn.metrics.
    """
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    tp = float(np.sum(y & p))
    fp = float(np.sum(~y & p))
    fn = float(np.sum(y & ~p))
    tn = float(len(y)) - tp - fp - fn
    n_pos, n_neg = tp + fn, tn + fp
    mcc_denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    ranks = _average_ranks(s)
    order = np.argsort(-s, kind="mergesort")
    hits = y[order]
    thresholds = np.r_[np.flatnonzero(np.diff(s[order])), len(s) - 1]
    tps = np.cumsum(hits)[thresholds]
    precision_at = tps / (thresholds + 1.0)
    recall_at = tps / n_pos
    return {
        **dict.fromkeys(REGRESSION_METRICS),
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / n_pos if n_pos else 0.0,
        "accuracy": (tp + tn) / len(y),
        "balanced_accuracy": (tp / n_pos + tn / n_neg) / 2,
        "mcc": (tp * tn - fp * fn) / mcc_denominator if mcc_denominator else 0.0,
        "roc_auc": (ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg),
        "pr_auc": float(np.sum(np.diff(np.r_[0.0, recall_at]) * precision_at)),
    }


def usable(y: np.ndarray | None, task: str = "classification") -> bool:
    """Whether a split's labels can be scored: present, and two classes (two values)."""
    if y is None or len(y) == 0:
        return False
    if task == "regression":
        return np.unique(y).size > 1
    return bool(y.any() and not y.all())


def validation_metrics(y_val: np.ndarray | None, scores: np.ndarray | None) -> dict:
    """The ``val_*`` columns of a binary probe from its validation decision scores (null when
    the feature has no usable validation part)."""
    if scores is None or not usable(y_val):
        return dict.fromkeys(VALIDATION_METRICS)
    return {f"val_{m}": v for m, v in probe_metrics(y_val, scores > 0, scores).items()}


@functools.lru_cache(maxsize=4)
def _resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """How often each test example appears in each bootstrap resample, [resamples, n] float32
    (exact integers): the resamples of a feature drawn once for all its probes (about 200 at
    1,000 resamples: a fresh draw and two [resamples, n] gathers per probe cost 10x more)."""
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    idx += np.arange(resamples)[:, None] * n
    return np.bincount(idx.ravel(), minlength=resamples * n).reshape(resamples, n).astype(
        np.float32)


def bootstrap_f1(y_true: np.ndarray, pred: np.ndarray, resamples: int, seed: int
                 ) -> tuple[float, float]:
    """95% percentile interval of the test F1 over ``resamples`` bootstrap resamples of the test
    split (the same resamples for every probe of a feature, so intervals compare paired)."""
    counts = _resample_counts(len(y_true), resamples, seed)
    y, p = np.asarray(y_true, bool), np.asarray(pred, bool)
    tp, fp, fn = (counts @ np.stack([y & p, ~y & p, y & ~p], axis=1).astype(np.float32)
                  ).astype(np.float64).T  # exact integers (< 2^24) in float32
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros(resamples), where=denominator > 0)
    low, high = np.percentile(f1, [2.5, 97.5])
    return float(low), float(high)
