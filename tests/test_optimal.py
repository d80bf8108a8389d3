"""Optimal sparse probing: outer approximation against brute-force enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from sparseprobe.probing.optimal import brute_force_support, solve_optimal_support, support_objective


def instance(seed, n=240, m=9, planted=(2, 5)):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.35
    x = np.abs(rng.normal(size=(n, m))) * 0.3
    for j, neuron in enumerate(planted):
        x[y, neuron] += 0.25 / (j + 1)
    x[:, 7] += 0.6 * x[:, planted[0]]  # a correlated decoy
    return x, y


@pytest.mark.parametrize("seed,k", [(0, 1), (1, 2), (2, 3), (3, 2), (4, 4)])
def test_outer_approximation_matches_brute_force(seed, k):
    x, y = instance(seed, planted=(seed % 9, (seed + 4) % 9))
    result = solve_optimal_support(x, y, k, warm_start=[8, 7, 6, 5][:k])  # a poor warm start
    best, best_objective = brute_force_support(x, y, k)
    assert result.optimal and result.gap <= 1e-4
    assert result.objective == pytest.approx(best_objective, rel=1e-7)
    assert sorted(result.neurons) == sorted(best)
    assert result.bound <= result.objective + 1e-6


def test_objective_is_hinge_plus_ridge_and_cuts_are_valid_lower_bounds():
    """c(s) is the weighted hinge + ridge value of the SVM fit, and the cut taken at one support
    never exceeds c at any other support (convexity of c in s)."""
    x, y = instance(5)
    s0 = [0, 1]
    c0, g0 = support_objective(x, y, s0)
    assert c0 > 0 and (g0 <= 0).all()
    e0 = np.zeros(x.shape[1])
    e0[s0] = 1
    for other in ([2, 5], [7, 3], [0, 8], [4, 6]):
        c1, _ = support_objective(x, y, other)
        e1 = np.zeros(x.shape[1])
        e1[other] = 1
        assert c0 + g0 @ (e1 - e0) <= c1 + 1e-6


def test_time_limit_reports_the_gap():
    x, y = instance(6, n=200, m=12)
    result = solve_optimal_support(x, y, 3, time_limit=0.0, max_iter=1)
    assert result.iterations == 1 and not result.optimal and result.gap > 0
    assert len(result.neurons) == 3
