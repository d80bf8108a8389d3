"""k-sparse probes of one layer: the paper's heuristic sweep and the dense ceiling.

Binary features get logistic-regression probes (below). Regression targets (e.g. a token's
position, the paper's side experiment) get the same sweep with |Pearson correlation| on the train
split as the ranking and a ridge regression (penalty chosen by leave-one-out on the train split,
sklearn ``RidgeCV``) as the probe; their rows carry R^2 and mean absolute error on the test split.

Train ranks, scales and fits; every probe is then scored on validation (``val_*`` columns) and
on test (the three splits: :mod:`sparseprobe.probing.splits`). The summaries choose (best layer,
best single neuron, neurons for case studies and ablation) on the ``val_*`` columns and report
the test columns of what they chose (docs/summaries.md).

For each feature: activations are scaled by ``scale`` x the per-neuron train std (no centering,
as in the paper); neurons are ranked by |mean(pos) - mean(neg)| on the train split only; for each
k a class-balanced L2 logistic regression is fitted on the top-k neurons; the dense probe uses
every neuron, and (``shuffled_control``) the ``shuffled_dense`` control is the dense probe
refitted on permuted train labels. Metrics are sklearn.metrics' definitions
(:mod:`sparseprobe.probing.metrics`), ROC-AUC and PR-AUC from the decision scores (not from hard
predictions, the reference code's bug).

What a row establishes: how well a linear read-out of these k neurons separates the feature on
held-out examples. It does not establish that the model uses those neurons for the feature.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace

import numpy as np

from sparseprobe.errors import ProbeError
from sparseprobe.probing.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    VALIDATION_METRICS,
    bootstrap_f1,
    probe_metrics,
    usable,
    validation_metrics,
)
from sparseprobe.probing.splits import (
    FeatureData,
    FeatureSplit,
    feature_splits,
    seed32,
    shared_feature_data,
)

PAPER_K_GRID = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 32, 64, 128, 256)
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-4, 2, 13))
"""Ridge penalties tried by leave-one-out on the train split (regression targets)."""


@dataclass(frozen=True)
class ProbeSettings:
    """Probe hyper-parameters (paper defaults)."""

    k_grid: tuple[int, ...] = PAPER_K_GRID
    dense: bool = True
    C: float = 1.0
    max_iter: int = 1000
    tol: float = 1e-6  # sklearn's lbfgs stopping tolerance (its default 1e-4 stops ~0.3% short)
    engine_tol: float = 1e-8  # the engine's: largest |gradient| entry at convergence
    scale: float = 10.0
    seed: int = 42
    methods: tuple[str, ...] = ("mean_diff",)  # see sparseprobe.probing.selection.METHODS
    bootstrap: int = 0  # test-set bootstrap resamples for the F1 interval (0: none)
    optimal_max_k: int = 8  # optimal sparse probing: k <= this
    optimal_candidates: int = 50  # ... among the top this many neurons by mean difference
    optimal_time_limit: float = 60.0  # seconds per solve; the gap is recorded either way
    pruning_steps: int = 10  # iterative pruning: solve k=5, drop its best neuron, this often
    backend: str = "engine"  # "engine": batched Newton (engine.py); "sklearn": one by one
    device: str = "auto"  # the engine's arrays: auto (GPU if any, else numpy) | numpy | cpu | cuda
    shuffled_control: bool = False  # with dense: the dense probe on permuted train labels too
    # (config/schema.yaml turns it on for workflow runs: the control of the headlines)


def scale_by_train_std(x_train: np.ndarray, x_test: np.ndarray, factor: float,
                       x_val: np.ndarray | None = None):
    """Divide the splits by ``factor`` x the train std per neuron (dead neurons: by 1):
    (train, test), or (train, test, validation) when ``x_val`` is given."""
    std = x_train.std(axis=0)
    denom = np.where(std > 0, factor * std, 1.0)
    if x_val is None:
        return x_train / denom, x_test / denom
    return x_train / denom, x_test / denom, x_val / denom


def rank_mean_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Neuron indices sorted by |mean over positives - mean over negatives|, largest first.

    Ties break by the lower neuron index (stable sort), so rankings are deterministic.
    """
    from sparseprobe.probing.selection import mean_difference

    return np.argsort(-mean_difference(x, y), kind="stable")


def rank_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Neuron indices sorted by |Pearson correlation with the target|, largest first (constant
    neurons last; ties by the lower index)."""
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    denom = np.sqrt((xc**2).sum(axis=0) * (yc**2).sum())
    corr = np.divide(xc.T @ yc, denom, out=np.zeros(x.shape[1]), where=denom > 0)
    return np.argsort(-np.abs(corr), kind="stable")


def _linear_scores(x: np.ndarray | None, neurons: np.ndarray, coef: np.ndarray,
                   intercept: float) -> np.ndarray | None:
    """x[:, neurons] @ coef + intercept (None for a missing split)."""
    if x is None or len(x) == 0:
        return None
    return np.take(x, neurons, axis=1) @ coef + intercept


def fit_probe(data: FeatureData, neurons: np.ndarray, settings: ProbeSettings) -> dict:
    """Fit a class-balanced L2 logistic regression on ``neurons`` and score it on the test split.

    The returned dict has the probe columns of the result schema (neurons, coefficients,
    intercept, metrics, converged, n_iter, fit_seconds). Non-convergence is recorded, not hidden.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(
        C=settings.C, class_weight="balanced", max_iter=settings.max_iter, solver="lbfgs",
        tol=settings.tol,
    )
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(data.x_train[:, neurons], data.y_train)
    seconds = time.perf_counter() - started
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    scores = model.decision_function(data.x_test[:, neurons])
    pred = scores > 0
    val_scores = None if data.x_val is None or len(data.x_val) == 0 else \
        model.decision_function(data.x_val[:, neurons])
    return {
        "k": len(neurons),
        "neurons": neurons.astype(np.int32).tolist(),
        "coefficients": model.coef_[0].astype(np.float32).tolist(),
        "intercept": float(model.intercept_[0]),
        **probe_metrics(data.y_test, pred, scores),
        **validation_metrics(data.y_val, val_scores),
        "_pred": pred,
        "converged": converged,
        "n_iter": int(model.n_iter_[0]),
        "fit_seconds": seconds,
    }


def fit_regression_probe(data: FeatureData, neurons: np.ndarray, settings: ProbeSettings) -> dict:
    """Fit a ridge regression of the target on ``neurons`` (penalty by efficient leave-one-out
    on the train split only) and score it on the test split: R^2 and mean absolute error."""
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import mean_absolute_error, r2_score

    model = RidgeCV(alphas=RIDGE_ALPHAS)
    started = time.perf_counter()
    model.fit(data.x_train[:, neurons], data.y_train)
    seconds = time.perf_counter() - started
    pred = model.predict(data.x_test[:, neurons])
    val = dict.fromkeys(VALIDATION_METRICS)
    if usable(data.y_val, "regression"):
        val_pred = model.predict(data.x_val[:, neurons])
        val.update(val_r2=float(r2_score(data.y_val, val_pred)),
                   val_mae=float(mean_absolute_error(data.y_val, val_pred)))
    return {
        "k": len(neurons),
        "neurons": neurons.astype(np.int32).tolist(),
        "coefficients": np.atleast_1d(model.coef_).astype(np.float32).tolist(),
        "intercept": float(model.intercept_),
        **dict.fromkeys(CLASSIFICATION_METRICS),
        "r2": float(r2_score(data.y_test, pred)),
        "mae": float(mean_absolute_error(data.y_test, pred)),
        **val,
        "converged": True,  # closed form
        "n_iter": 0,
        "fit_seconds": seconds,
    }


def prepare(data: FeatureData, settings: ProbeSettings, cache: dict | None = None
            ) -> tuple[FeatureData, str, np.ndarray]:
    """Check both splits hold two classes (or values), scale by the train std and rank the
    neurons on the train split: (scaled data, method name, ranking). ``cache`` (a dict owned by
    the caller): features whose splits are the same arrays (one layer, the same examples) get
    the same scaled arrays, scaled once, so a wide layer is held once, not once per feature."""
    regression = data.task == "regression"
    for split, y in (("train", data.y_train), ("test", data.y_test)):
        single = np.unique(y).size < 2 if regression else (y.all() or not y.any())
        if single:
            raise ProbeError(f"feature '{data.feature}': the {split} split has a single "
                             f"{'value' if regression else 'class'}")
    x_val_raw = data.x_val if data.x_val is not None else np.zeros((0, data.x_train.shape[1]),
                                                                   data.x_train.dtype)
    key = (id(data.x_train), id(data.x_test), id(data.x_val), settings.scale)
    if cache is not None and key in cache:
        x_train, x_test, x_val = cache[key][3:]
    else:
        x_train, x_test, x_val = scale_by_train_std(data.x_train, data.x_test, settings.scale,
                                                    x_val_raw)
        if cache is not None:  # the raw arrays stay referenced, so their ids stay unique
            cache[key] = (data.x_train, data.x_test, data.x_val, x_train, x_test, x_val)
    scaled = FeatureData(data.feature, x_train, data.y_train, x_test, data.y_test, data.task,
                         x_val if data.x_val is not None else None, data.y_val)
    if regression:
        return scaled, "correlation", rank_correlation(x_train, data.y_train)
    return scaled, "mean_diff", rank_mean_difference(x_train, data.y_train)


def k_values(settings: ProbeSettings, d_mlp: int) -> list[int]:
    """The k grid capped at d_mlp, sorted, without repeats."""
    return sorted({min(k, d_mlp) for k in settings.k_grid})


def heuristic_sweep(data: FeatureData, settings: ProbeSettings) -> list[dict]:
    """Rank neurons on the train split (binary: mean difference, method ``mean_diff``;
    regression: |correlation|, method ``correlation``), then one probe per k (capped at d_mlp),
    plus the dense probe, fitted one by one with sklearn (the reference backend). Returns one
    dict per probe (method, k and the probe columns)."""
    if data.task != "regression":
        reference = replace(settings, backend="sklearn", methods=("mean_diff",))
        return sweep_layer([data], reference)[0]
    scaled, method, ranking = prepare(data, settings)
    d_mlp = scaled.x_train.shape[1]
    rows = [{"method": method, **fit_regression_probe(scaled, ranking[:k], settings)}
            for k in k_values(settings, d_mlp)]
    if settings.dense:
        rows.append({"method": "dense",
                     **fit_regression_probe(scaled, np.arange(d_mlp), settings)})
    for row in rows:
        row.update(f1_ci_low=None, f1_ci_high=None, solver_objective=None, solver_bound=None,
                   solver_gap=None)
    return rows


ENGINE_MAX_K = 512
"""Probes wider than this (a dense probe on a big layer) use the batched L-BFGS solver
(:mod:`sparseprobe.probing.wide`): Newton's Hessian grows as k^2."""
ENGINE_BATCH_ELEMENTS = 30_000_000
"""Probes per engine batch are capped so a batch's design tensor stays under this many floats."""


def _engine_rows(probes: list[tuple[FeatureData, np.ndarray]], settings: ProbeSettings,
                 starts: list[np.ndarray | None] | None = None) -> list[dict]:
    """Fit probes that share k with the batched engine; one result dict per probe, in order.
    ``starts``: per probe an optional Newton starting point [k+1] (see :func:`_warm_start`)."""
    from sparseprobe.probing.engine import fit_logistic_batch

    k = len(probes[0][1])
    n = max(len(data.y_train) for data, _ in probes)
    per_batch = max(1, ENGINE_BATCH_ELEMENTS // (n * (k + 1)))
    rows = []
    for start in range(0, len(probes), per_batch):
        chunk = probes[start:start + per_batch]
        x = np.zeros((len(chunk), n, k), dtype=np.result_type(probes[0][0].x_train, np.float32))
        y = np.zeros((len(chunk), n), dtype=bool)
        mask = np.zeros((len(chunk), n), dtype=bool)
        init = np.zeros((len(chunk), k + 1))
        for b, (data, neurons) in enumerate(chunk):
            m = len(data.y_train)
            # np.take gathers columns about twice as fast as fancy indexing
            x[b, :m] = np.take(data.x_train, neurons, axis=1)
            y[b, :m], mask[b, :m] = data.y_train, True
            if starts is not None and starts[start + b] is not None:
                init[b] = starts[start + b]
        started = time.perf_counter()
        fit = fit_logistic_batch(x, y, mask=mask, C=settings.C, init=init,
                                 max_iter=min(settings.max_iter, 100), tol=settings.engine_tol,
                                 device=settings.device)
        seconds = (time.perf_counter() - started) / len(chunk)
        for b, (data, neurons) in enumerate(chunk):
            scores = np.take(data.x_test, neurons, axis=1) @ fit.coef[b] + fit.intercept[b]
            val_scores = _linear_scores(data.x_val, neurons, fit.coef[b], fit.intercept[b])
            rows.append(_fit_row(k, neurons, fit, b, data, scores, val_scores, seconds))
    return rows


def _fit_row(k: int, neurons: np.ndarray, fit, b: int, data: FeatureData, scores: np.ndarray,
             val_scores: np.ndarray | None, seconds: float) -> dict:
    """The result dict of probe ``b`` of a batched ``fit`` (coef, intercept, converged,
    n_iter per probe) on ``neurons``: its weights and its test and validation metrics from
    ``scores`` / ``val_scores`` (decision values, > 0 is positive)."""
    return {
        "k": k,
        "neurons": np.asarray(neurons).astype(np.int32).tolist(),
        "coefficients": fit.coef[b].astype(np.float32).tolist(),
        "intercept": float(fit.intercept[b]),
        **probe_metrics(data.y_test, scores > 0, scores),
        **validation_metrics(data.y_val, val_scores),
        "_pred": scores > 0,
        "converged": bool(fit.converged[b]),
        "n_iter": int(fit.n_iter[b]),
        "fit_seconds": seconds,
    }


def _wide_rows(probes: list[tuple[FeatureData, np.ndarray]], settings: ProbeSettings
               ) -> list[dict]:
    """Fit wide probes (k > ENGINE_MAX_K) with batched L-BFGS; one result dict per probe, in
    order. Probes that read the same scaled design (the same array, e.g. dense probes of every
    feature that labels the same examples) are solved together on that one matrix."""
    from sparseprobe.probing.wide import fit_logistic_lbfgs

    groups: dict[tuple[int, int, bytes], list[int]] = {}
    for j, (data, neurons) in enumerate(probes):
        key = (id(data.x_train), id(data.x_test), id(data.x_val), np.asarray(neurons).tobytes())
        groups.setdefault(key, []).append(j)
    rows: list[dict | None] = [None] * len(probes)
    for members in groups.values():
        data, neurons = probes[members[0]]
        whole = len(neurons) == data.x_train.shape[1] and np.array_equal(
            neurons, np.arange(len(neurons)))
        x_train = data.x_train if whole else np.take(data.x_train, neurons, axis=1)
        x_test = data.x_test if whole else np.take(data.x_test, neurons, axis=1)
        x_val = None if data.x_val is None or len(data.x_val) == 0 else (
            data.x_val if whole else np.take(data.x_val, neurons, axis=1))
        labels = np.stack([probes[j][0].y_train for j in members])
        started = time.perf_counter()
        fit = fit_logistic_lbfgs(x_train, labels, C=settings.C, tol=settings.tol,
                                 max_iter=settings.max_iter)
        seconds = (time.perf_counter() - started) / len(members)
        all_scores = (x_test @ fit.coef.T.astype(x_test.dtype)).T + fit.intercept[:, None]
        val_all = None if x_val is None else (
            (x_val @ fit.coef.T.astype(x_val.dtype)).T + fit.intercept[:, None])
        for b, j in enumerate(members):
            scores = all_scores[b].astype(np.float64)
            val_scores = None if val_all is None else val_all[b].astype(np.float64)
            rows[j] = _fit_row(len(neurons), neurons, fit, b, probes[j][0], scores,
                               val_scores, seconds)
    return rows


def _warm_start(previous: dict | None, neurons: np.ndarray) -> np.ndarray | None:
    """A Newton starting point for a probe on ``neurons`` from the same feature's and method's
    probe at the previous k (``previous``: its row) when that support is a prefix of this one
    (nested rankings): its coefficients, zeros for the added neurons, its intercept. The fit's
    optimum does not depend on the start (strictly convex objective); it saves Newton steps."""
    if previous is None:
        return None
    before = np.asarray(previous["neurons"])
    if len(before) >= len(neurons) or not np.array_equal(before, neurons[:len(before)]):
        return None
    start = np.zeros(len(neurons) + 1)
    start[:len(before)] = previous["coefficients"]
    start[-1] = previous["intercept"]
    return start


def _optimal_probes(scaled: FeatureData, ranking: np.ndarray, ks: list[int],
                    settings: ProbeSettings, pruning: bool) -> list[tuple]:
    """Optimal sparse probing for each k <= optimal_max_k (from the largest down, as the
    paper), or iterative pruning (k = 5, then without the best neuron, ``pruning_steps``
    times): plan entries with the solver's objective, bound and gap."""
    from sparseprobe.probing.optimal import solve_optimal_support

    candidates = list(ranking[: settings.optimal_candidates])
    plan = []
    if pruning:
        schedule = [5] * settings.pruning_steps
    else:
        schedule = sorted((k for k in ks if k <= settings.optimal_max_k), reverse=True)
    for k in schedule:
        if k > len(candidates):
            break
        cols = np.asarray(candidates)
        result = solve_optimal_support(scaled.x_train[:, cols], scaled.y_train, k,
                                       warm_start=range(k),
                                       time_limit=settings.optimal_time_limit)
        neurons = cols[np.sort(result.neurons)]  # in mean-difference order
        plan.append(("pruning" if pruning else "optimal", scaled, neurons, {
            "solver_objective": result.objective, "solver_bound": result.bound,
            "solver_gap": result.gap, "converged": result.optimal}))
        if pruning:  # drop the support's best neuron (highest mean difference) and solve again
            candidates.remove(int(neurons[0]))
    return plan


def plan_probes(data: FeatureData, settings: ProbeSettings, layer: int = 0,
                cache: dict | None = None) -> list[tuple]:
    """Every probe of one binary feature on one layer: (method, the scaled data it reads, its
    neurons, extra result columns), for each method of ``settings.methods`` and k of the grid,
    plus the dense probe. Rankings and supports use the train split only
    (``sparseprobe.probing.selection``, ``sparseprobe.probing.optimal``)."""
    from sparseprobe.probing import selection

    unknown = [m for m in settings.methods if m not in selection.METHODS]
    if unknown:
        raise ProbeError(f"probing.methods: unknown {unknown}; known: {list(selection.METHODS)}")
    scaled, _, ranking = prepare(data, settings, cache)
    d_mlp = scaled.x_train.shape[1]
    ks = k_values(settings, d_mlp)
    plan: list[tuple] = []
    for method in settings.methods:
        seed = seed32(settings.seed, data.feature, layer, method)
        if method in selection.RANKINGS:
            order = ranking if method == "mean_diff" else selection.rank(
                method, scaled.x_train, scaled.y_train, seed)
            plan += [(method, scaled, order[:k]) for k in ks]
        elif method == "telescope":
            supports = selection.telescope_supports(scaled.x_train, scaled.y_train, ks)
            plan += [(method, scaled, supports[k]) for k in ks]
        elif method == "single_neuron":
            plan += [(method, scaled, ranking[i:i + 1])
                     for i in range(min(selection.SINGLE_NEURON_CANDIDATES, d_mlp))]
        elif method == "random_basis":
            rotation = selection.random_rotation(d_mlp, seed32(settings.seed, layer))
            key = ("rotated", id(data.x_train), id(data.x_test), id(data.x_val))
            if cache is None or key not in cache:  # features sharing a layer rotate it once
                rotated_x = (rotation.apply(data.x_train), rotation.apply(data.x_test),
                             None if data.x_val is None else rotation.apply(data.x_val))
                if cache is not None:
                    cache[key] = (data.x_train, data.x_test, data.x_val, *rotated_x)
            else:
                rotated_x = cache[key][3:]
            rotated, _, order = prepare(FeatureData(
                data.feature, rotated_x[0], data.y_train, rotated_x[1], data.y_test,
                x_val=rotated_x[2], y_val=data.y_val), settings, cache)
            plan += [(method, rotated, order[:k]) for k in ks]
        elif method == "shuffled_labels":
            y = np.random.default_rng(seed).permutation(scaled.y_train)
            shuffled = scaled.with_train_labels(y)
            order = rank_mean_difference(scaled.x_train, y)
            plan += [(method, shuffled, order[:k]) for k in ks]
        elif method in ("optimal", "pruning"):
            plan += _optimal_probes(scaled, ranking, ks, settings, method == "pruning")
    if settings.dense:
        plan.append(("dense", scaled, np.arange(d_mlp)))
        if settings.shuffled_control:  # the permutation of the shuffled_labels control
            seed = seed32(settings.seed, data.feature, layer, "shuffled_labels")
            y = np.random.default_rng(seed).permutation(scaled.y_train)
            plan.append(("shuffled_dense", scaled.with_train_labels(y), np.arange(d_mlp)))
    return [entry if len(entry) == 4 else (*entry, {}) for entry in plan]


def sweep_layer(features: list[FeatureData], settings: ProbeSettings, layer: int = 0
                ) -> list[list[dict]]:
    """Every probe of every feature of one layer (:func:`plan_probes`): per feature, its list
    of probe dicts (method, k, neurons, coefficients, metrics...). With ``backend: engine``
    the probes of one k are fitted together, all features and methods, in the batched engine;
    ``backend: sklearn`` fits them one by one. Regression targets get the correlation sweep
    (:func:`heuristic_sweep`) whatever the methods."""
    if settings.backend not in ("engine", "sklearn"):
        raise ProbeError(f"probing.backend must be 'engine' or 'sklearn', got "
                         f"'{settings.backend}'")
    out: list[list[dict]] = [[] for _ in features]
    cache: dict = {}  # shared scaled designs (see prepare)
    by_k: dict[int, list[tuple[int, str, FeatureData, np.ndarray, dict]]] = {}
    for i, data in enumerate(features):
        if data.task == "regression":
            out[i] = heuristic_sweep(data, settings)
            continue
        for method, scaled, neurons, extra in plan_probes(data, settings, layer, cache):
            by_k.setdefault(len(neurons), []).append((i, method, scaled, neurons, extra))
    previous: dict[tuple[int, str], dict] = {}  # (feature, method) -> its row at the last k
    cache.clear()
    for k in sorted(by_k):
        probes = by_k[k]
        if settings.backend == "sklearn":
            rows = [fit_probe(scaled, neurons, settings) for _, _, scaled, neurons, _ in probes]
        elif k > ENGINE_MAX_K:
            rows = _wide_rows([(scaled, neurons) for _, _, scaled, neurons, _ in probes],
                              settings)
        else:
            starts = [_warm_start(previous.get((i, method)), neurons)
                      for i, method, _, neurons, _ in probes]
            rows = _engine_rows([(scaled, neurons) for _, _, scaled, neurons, _ in probes],
                                settings, starts)
        for (i, method, scaled, _, extra), row in zip(probes, rows):
            previous[(i, method)] = row
            pred = row.pop("_pred")
            interval = (None, None)
            if settings.bootstrap:
                interval = bootstrap_f1(scaled.y_test, pred, settings.bootstrap,
                                        seed32(settings.seed, scaled.feature, layer, "boot"))
            solver = {"solver_objective": None, "solver_bound": None, "solver_gap": None}
            solver.update(extra)
            converged = row.pop("converged") and solver.pop("converged", True)
            out[i].append({"method": method, **row, "converged": converged,
                           "f1_ci_low": interval[0], "f1_ci_high": interval[1], **solver})
    order = {m: j for j, m in enumerate((*settings.methods, "dense", "shuffled_dense"))}
    return [sorted(rows, key=lambda r: (order.get(r["method"], -1), r["k"])) for rows in out]


def _probe_keys(rows: list[dict]) -> list[tuple[str, int, int]]:
    """Each probe's procedure: (method, k, its place among that method's probes of this k),
    e.g. ("single_neuron", 1, 3): the fourth neuron of the train ranking."""
    seen: dict[tuple[str, int], int] = {}
    keys = []
    for row in rows:
        base = (row["method"], row["k"])
        keys.append((*base, seen.get(base, 0)))
        seen[base] = seen.get(base, 0) + 1
    return keys


def cross_validate(activations: np.ndarray, splits: list[FeatureSplit], swept: list[list[dict]],
                   settings: ProbeSettings, layer: int) -> None:
    """k-fold cross-validation (splits with ``folds``): set every probe's ``val_*`` columns
    (in ``swept``, the rows of :func:`sweep_layer` on the whole train split) to the mean over
    folds of the same procedure (:func:`_probe_keys`: ranking, scaling and fit on the other
    folds) scored on the held-out fold. A fold whose train or held-out part of a feature holds
    a single class is left out of that feature's mean.

    What the mean estimates: how well the procedure (e.g. "the top-16 mean-difference neurons
    of this layer", "the train ranking's 4th neuron") generalises, which is what the choices
    made on it (best layer, best k, best single neuron) need. For a single-neuron row it
    scores the rank, which is the row's own neuron only where the folds' rankings agree."""
    quiet = replace(settings, bootstrap=0)
    fold_rows: list[dict[tuple, list[dict]]] = [{} for _ in splits]
    for j in range(max(split.n_folds for split in splits)):
        held_out = [(i, split.fold(j)) for i, split in enumerate(splits)
                    if split.folds is not None]
        usable = [(i, fold) for i, fold in held_out if fold.scorable()]
        if not usable:
            continue
        datas = shared_feature_data(activations, [split for _, split in usable])
        for (i, _), rows in zip(usable, sweep_layer(datas, quiet, layer)):
            for key, row in zip(_probe_keys(rows), rows):
                fold_rows[i].setdefault(key, []).append(row)
    for i, rows in enumerate(swept):
        for key, row in zip(_probe_keys(rows), rows):
            folds = fold_rows[i].get(key, [])
            for metric in (*CLASSIFICATION_METRICS, *REGRESSION_METRICS):
                values = [fold[metric] for fold in folds if fold.get(metric) is not None]
                row[f"val_{metric}"] = float(np.mean(values)) if values else None


def probe_layer(dataset, store_dir, layer: int, settings: ProbeSettings,
                splits: list[FeatureSplit] | None = None, model_fingerprint: str | None = None):
    """Every feature of ``dataset`` on one cached layer: result rows as a schema frame.

    Refuses (ActivationStoreError) a store of an old format, of another dataset content or,
    with ``model_fingerprint``, of other weights (:func:`~sparseprobe.activations.store.
    check_identity`)."""
    from sparseprobe.activations.store import check_identity, read_layer
    from sparseprobe.probing.results import to_frame

    info = check_identity(store_dir, dataset, model_fingerprint)
    activations = read_layer(store_dir, layer, dataset)
    splits = splits or feature_splits(dataset)
    datas = shared_feature_data(activations, splits)
    swept = sweep_layer(datas, settings, layer)
    crossed = any(split.folds is not None for split in splits)
    if crossed:
        cross_validate(activations, splits, swept, settings, layer)
    rows = []
    for data, probes in zip(datas, swept):
        feature = data.feature
        # k-fold CV scores every train example once, out of fold: that is the validation set
        y_val = data.y_train if crossed else data.y_val
        context = {
            "model": info.model, "family": info.family, "n_parameters": info.n_parameters,
            "n_layers": info.n_layers, "d_mlp": info.d_mlp, "dataset": dataset.name,
            "hook": info.hook.replace("{L}", str(layer)), "aggregation": info.aggregation,
            "layer": layer, "feature": feature, "task": data.task,
            "n_train": len(data.y_train), "n_test": len(data.y_test),
            "n_val": 0 if y_val is None else len(y_val),
            "n_train_positive": None if data.task == "regression" else int(data.y_train.sum()),
            "n_test_positive": None if data.task == "regression" else int(data.y_test.sum()),
            "n_val_positive": None if data.task == "regression" else (
                0 if y_val is None else int(y_val.sum())),
            "seed": settings.seed,
        }
        rows += [{**context, **row} for row in probes]
    return to_frame(rows)


def probe_layers(dataset, store_dir, layers: list[int], settings: ProbeSettings,
                 model_fingerprint: str | None = None, validation_fraction: float = 0.0,
                 validation_folds: int = 0):
    """:func:`probe_layer` on each of ``layers`` (one probe job), as one schema frame; with
    ``validation_fraction`` > 0 the train split is cut into train and validation
    (:func:`feature_splits`, seeded by ``settings.seed``); with ``validation_folds`` >= 2 the
    probes are fitted on the whole train split and validated by k-fold cross-validation over it
    (:func:`cross_validate`: the job's fits times 1 + folds)."""
    import polars as pl

    if not layers:
        raise ProbeError(f"{store_dir}: no layers to probe")
    splits = feature_splits(dataset, validation_fraction, settings.seed, validation_folds)
    return pl.concat([probe_layer(dataset, store_dir, layer, settings, splits,
                                  model_fingerprint) for layer in layers])
