"""Optimal sparse probing (OSP): the paper's exact k-sparse objective, solved without Gurobi.

For one binary feature, among ``candidates`` neurons (the paper: the top 50 by mean
difference), find the support s of exactly k neurons minimising

    c(s) = min_{beta, b}  sum_i w_i max(0, 1 - y_i (x_i . beta + b)) + ||beta||^2 / (2 gamma)

with beta supported on s, class-balanced weights w_i and gamma = 1 / sqrt(n_train).

Method: outer approximation (lazy cutting planes), as in the paper (Bertsimas et al.). By duality
c(s) = max over dual-feasible alpha of  sum_i alpha_i - (gamma/2) sum_j s_j (sum_i alpha_i y_i x_ij)^2
(after rescaling), a maximum of affine functions of s, hence convex in s; at any support s_t the
dual optimum alpha_t gives the cut  c(s) >= c(s_t) + g_t . (s - s_t)  with
g_tj = -(1 / (2 gamma)) (sum_i alpha_ti y_i x_ij)^2 for every candidate j. The master problem
(min eta over binary s with sum s = k and all cuts) is a small MILP solved by HiGHS
(``scipy.optimize.milp``, open source); each new support's c(s) is an SVM fit (sklearn ``SVC``,
linear kernel, C = gamma, sample weights w). The loop stops when the best support found is
within ``gap`` of the master's lower bound (proven optimal up to that gap) or at ``time_limit``;
the result records the objective, the bound and the gap either way, as the paper reported its MIP
gap.

What it establishes: the best k-subset of the candidates for this (hinge + ridge) objective on
the train split. It does not search outside the candidates, and the probe reported on that
support is the L2 logistic probe refitted on it, as in the paper.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import combinations

import numpy as np


@dataclass(frozen=True)
class OptimalSupport:
    """The support found (candidate-relative indices mapped back to neurons) and its proof."""

    neurons: np.ndarray
    objective: float  # c(s) of the support found
    bound: float  # a proven lower bound on the optimum
    gap: float  # (objective - bound) / max(|objective|, 1e-12)
    iterations: int
    seconds: float
    optimal: bool  # gap <= the requested gap


def balanced_weights(y: np.ndarray) -> np.ndarray:
    n, n_pos = len(y), int(y.sum())
    return np.where(y, n / (2 * n_pos), n / (2 * (n - n_pos)))


def support_objective(x: np.ndarray, y: np.ndarray, support, gamma: float | None = None
                      ) -> tuple[float, np.ndarray]:
    """c(support) and the cut gradient over every column of ``x`` (see the module docstring)."""
    from sklearn.svm import SVC

    gamma = 1.0 / np.sqrt(len(y)) if gamma is None else gamma
    w = balanced_weights(y)
    t = np.where(y, 1.0, -1.0)
    cols = np.asarray(support, dtype=int)
    model = SVC(kernel="linear", C=gamma, tol=1e-8, max_iter=1_000_000)
    model.fit(x[:, cols], t, sample_weight=w)
    beta = model.coef_[0]
    margins = t * (x[:, cols] @ beta + model.intercept_[0])
    objective = float((w * np.maximum(0.0, 1.0 - margins)).sum() + beta @ beta / (2 * gamma))
    alpha_y = np.zeros(len(y))
    alpha_y[model.support_] = model.dual_coef_[0]  # alpha_i * y_i, alpha in [0, gamma w_i]
    # c = SVC objective / gamma; SVC's dual term is -(1/2) sum_j s_j (sum_i alpha_i y_i x_ij)^2
    gradient = -((alpha_y @ x) ** 2) / (2 * gamma)
    return objective, gradient


def solve_optimal_support(x: np.ndarray, y: np.ndarray, k: int, *, warm_start=None,
                          gap: float = 1e-4, time_limit: float = 60.0, max_iter: int = 500
                          ) -> OptimalSupport:
    """Exactly k columns of ``x`` (the candidates) minimising c(s), by outer approximation."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    started = time.perf_counter()
    m = x.shape[1]
    if not 1 <= k <= m:
        raise ValueError(f"k must be in [1, {m}], got {k}")
    cuts_a, cuts_b = [], []  # eta - g.s >= c_t - g.s_t  ->  -g.s + eta >= rhs
    best_obj, best = np.inf, None
    bound = -np.inf
    s = np.zeros(m)
    s[list(warm_start if warm_start is not None else range(k))[:k]] = 1.0
    iterations = 0
    # objective: minimise eta (last variable); s binary in [0, 1], eta free
    c = np.r_[np.zeros(m), 1.0]
    integrality = np.r_[np.ones(m), 0]
    bounds = Bounds(np.r_[np.zeros(m), -np.inf], np.r_[np.ones(m), np.inf])
    cardinality = LinearConstraint(np.r_[np.ones(m), 0.0][None, :], k, k)
    while iterations < max_iter:
        iterations += 1
        support = np.flatnonzero(s > 0.5)
        value, grad = support_objective(x, y, support)
        if value < best_obj:
            best_obj, best = value, support
        cuts_a.append(np.r_[-grad, 1.0])
        cuts_b.append(value - grad @ s)
        if (best_obj - bound) <= gap * max(abs(best_obj), 1e-12):
            break
        if time.perf_counter() - started > time_limit:
            break
        result = milp(c, integrality=integrality, bounds=bounds,
                      constraints=[cardinality, LinearConstraint(np.array(cuts_a),
                                                                 np.array(cuts_b), np.inf)],
                      options={"time_limit": max(1.0, time_limit - (time.perf_counter()
                                                                     - started))})
        if result.x is None:
            break
        bound = max(bound, float(result.x[-1]) if result.status == 0 else bound)
        s = np.round(result.x[:m])
        if (best_obj - bound) <= gap * max(abs(best_obj), 1e-12):
            break
    final_gap = (best_obj - bound) / max(abs(best_obj), 1e-12)
    return OptimalSupport(
        neurons=np.asarray(best, dtype=int), objective=best_obj, bound=bound, gap=final_gap,
        iterations=iterations, seconds=time.perf_counter() - started,
        optimal=final_gap <= gap,
    )


def brute_force_support(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Every k-subset of the columns (for tests on small instances): the best and its c(s)."""
    best, best_obj = None, np.inf
    for support in combinations(range(x.shape[1]), k):
        value, _ = support_objective(x, y, support)
        if value < best_obj:
            best, best_obj = np.array(support), value
    return best, best_obj
