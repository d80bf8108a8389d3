"""Neuron selection methods on planted features (GELU of Gaussian noise with a mean shift on a
known support, in the spirit of the paper's synthetic benchmark) and the controls."""

from __future__ import annotations

import numpy as np
import pytest

from sparseprobe.errors import ProbeError

from sparseprobe.probing.splits import FeatureData
from sparseprobe.probing.sweep import ProbeSettings, sweep_layer
from sparseprobe.probing.selection import RANKINGS, random_rotation, rank, telescope_supports


def planted(support, n=900, d=64, shift=2.5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    pre = rng.normal(size=(n, d))
    pre[np.ix_(y, support)] += shift
    x = pre * 0.5 * (1 + np.tanh(0.79788456 * (pre + 0.044715 * pre**3)))
    cut = int(0.7 * n)
    return FeatureData("planted", x[:cut], y[:cut], x[cut:], y[cut:])


@pytest.mark.parametrize("method", [m for m in RANKINGS if m != "random"])
@pytest.mark.parametrize("support", [[7], [3, 40], [1, 9, 22, 35, 50]])
def test_rankings_recover_a_planted_support(method, support):
    data = planted(support)
    order = rank(method, data.x_train, data.y_train, seed=0)
    assert sorted(order) == list(range(64))  # a permutation of every neuron
    assert set(order[: len(support)]) == set(support), (method, order[:8])


def test_random_ranking_is_seeded_and_uniform():
    data = planted([7])
    a, b = (rank("random", data.x_train, data.y_train, seed=s) for s in (1, 1))
    assert (a == b).all() and not (a == rank("random", data.x_train, data.y_train, 2)).all()
    firsts = [rank("random", data.x_train, data.y_train, s)[0] for s in range(640)]
    assert np.bincount(firsts, minlength=64).max() < 30  # ~10 expected per neuron


def test_telescope_narrows_to_the_planted_neurons():
    data = planted([1, 9, 22, 35, 50])
    supports = telescope_supports(data.x_train, data.y_train, [1, 2, 5, 16, 32])
    assert [len(supports[k]) for k in (32, 16, 5, 2, 1)] == [32, 16, 5, 2, 1]
    assert set(supports[5]) == {1, 9, 22, 35, 50}
    assert set(supports[2]) <= set(supports[5]) and set(supports[1]) <= set(supports[2])


def test_controls_single_neuron_advantage_and_chance():
    """A dedicated neuron: k=1 is near the dense F1 in the neuron basis but not in a random
    orthogonal basis; with shuffled train labels every probe is near chance."""
    data = planted([7], shift=3.0)
    settings = ProbeSettings(k_grid=(1, 4, 64), methods=("mean_diff", "random_basis",
                                                         "shuffled_labels", "single_neuron"))
    rows = sweep_layer([data], settings, layer=0)[0]
    f1 = {(r["method"], r["k"]): r["f1"] for r in rows if r["method"] != "single_neuron"}
    assert f1[("mean_diff", 1)] > 0.85
    assert f1[("random_basis", 1)] < f1[("mean_diff", 1)] - 0.2
    assert f1[("random_basis", 64)] == pytest.approx(f1[("dense", 64)], abs=0.03)  # same space
    chance = 2 * 0.3 / 1.3  # F1 of guessing with the base rate
    assert all(abs(f1[("shuffled_labels", k)] - chance) < 0.2 for k in (1, 4, 64))
    singles = [r for r in rows if r["method"] == "single_neuron"]
    assert len(singles) == 30 and singles[0]["neurons"] == [7]
    assert max(singles, key=lambda r: r["f1"])["neurons"] == [7]


def test_bootstrap_interval_brackets_the_f1_and_is_deterministic():
    data = planted([7])
    settings = ProbeSettings(k_grid=(1, 8), bootstrap=200)
    a = sweep_layer([data], settings, layer=2)[0]
    b = sweep_layer([data], settings, layer=2)[0]
    for row, again in zip(a, b):
        assert row["f1_ci_low"] <= row["f1"] <= row["f1_ci_high"]
        assert row["f1_ci_high"] - row["f1_ci_low"] > 0
        assert (row["f1_ci_low"], row["f1_ci_high"]) == (again["f1_ci_low"], again["f1_ci_high"])
    assert sweep_layer([data], ProbeSettings(k_grid=(1,)), layer=2)[0][0]["f1_ci_low"] is None


@pytest.mark.parametrize("d", [16, 96, 100])  # powers of two and not
def test_random_rotation_is_orthogonal_dense_and_seeded(d):
    q = random_rotation(d, 3).matrix()
    np.testing.assert_allclose(q @ q.T, np.eye(d), atol=1e-10)
    assert (q == random_rotation(d, 3).matrix()).all()
    assert not np.allclose(q, random_rotation(d, 4).matrix())
    assert (np.abs(q) > 1e-12).mean() > 0.99  # every direction mixes (nearly) every neuron
    x = np.random.default_rng(0).normal(size=(5, d))
    np.testing.assert_allclose(random_rotation(d, 3).apply(x), x @ q, atol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(random_rotation(d, 3).apply(x), axis=1),
                               np.linalg.norm(x, axis=1))
    with pytest.raises(ProbeError, match="width"):
        random_rotation(d, 3).apply(x[:, :-1])


def test_every_method_runs_on_both_backends_with_the_same_supports():
    data = planted([3, 40])
    methods = ("mean_diff", "anova_f", "l1_logreg", "svm", "random", "telescope")
    rows = {backend: sweep_layer([data], ProbeSettings(k_grid=(1, 2, 8), methods=methods,
                                                       backend=backend), layer=1)[0]
            for backend in ("engine", "sklearn")}
    assert [(r["method"], r["k"], r["neurons"]) for r in rows["engine"]] == [
        (r["method"], r["k"], r["neurons"]) for r in rows["sklearn"]]
    assert all(abs(a["f1"] - b["f1"]) <= 0.03 for a, b in zip(rows["engine"], rows["sklearn"]))
    assert {r["method"] for r in rows["engine"]} == {*methods, "dense"}


@pytest.mark.parametrize("support", [[7], [3, 40], [1, 9, 22, 35, 50]])
def test_optimal_sparse_probing_recovers_the_planted_support_exactly(support):
    data = planted(support, shift=2.0)
    k = len(support)
    settings = ProbeSettings(k_grid=(1, 2, 5), methods=("optimal",), dense=False,
                             optimal_candidates=12)
    rows = sweep_layer([data], settings, layer=0)[0]
    by_k = {r["k"]: r for r in rows}
    assert sorted(by_k) == [1, 2, 5]
    assert set(by_k[k]["neurons"]) == set(support)
    for row in rows:
        assert row["converged"] and row["solver_gap"] <= 1e-4
        assert row["solver_bound"] <= row["solver_objective"] + 1e-6


def test_iterative_pruning_removes_the_best_neuron_each_step():
    data = planted([1, 9, 22, 35, 50], shift=2.0)
    settings = ProbeSettings(k_grid=(5,), methods=("pruning",), dense=False,
                             optimal_candidates=12, pruning_steps=4)
    rows = sweep_layer([data], settings, layer=0)[0]
    assert [r["k"] for r in rows] == [5, 5, 5, 5]
    assert set(rows[0]["neurons"]) == {1, 9, 22, 35, 50}
    removed = [r["neurons"][0] for r in rows]
    for step, row in enumerate(rows):
        assert not set(removed[:step]) & set(row["neurons"])
    assert rows[-1]["f1"] < rows[0]["f1"]  # losing planted neurons costs F1


def test_mutual_info_on_a_wide_layer_scores_the_mean_difference_prefilter_only():
    """Wider than MUTUAL_INFO_CANDIDATES: the order is a permutation whose head is the top
    neurons by mean difference re-ordered by mutual information; the tail keeps mean-difference
    order. A planted neuron is found first."""
    from sparseprobe.probing.selection import MUTUAL_INFO_CANDIDATES, mean_difference, rank

    rng = np.random.default_rng(0)
    d = MUTUAL_INFO_CANDIDATES + 200
    x = rng.normal(size=(400, d))
    y = rng.random(400) < 0.3
    x[y, 7] += 3.0
    order = rank("mutual_info", x, y, seed=1)
    by_mean_diff = np.argsort(-mean_difference(x, y), kind="stable")
    assert sorted(order) == list(range(d)) and order[0] == 7
    assert set(order[:MUTUAL_INFO_CANDIDATES]) == set(by_mean_diff[:MUTUAL_INFO_CANDIDATES])
    assert list(order[MUTUAL_INFO_CANDIDATES:]) == list(by_mean_diff[MUTUAL_INFO_CANDIDATES:])


@pytest.mark.parametrize("n, relu", [(300, False), (2000, True)])  # ReLU: ties at zero
def test_mutual_information_by_sorting_equals_sklearns_estimate(n, relu):
    """The sorted 1-D computation gives mutual_info_classif's values (same noise, same
    neighbours, same counts), constant columns included."""
    from sklearn.feature_selection import mutual_info_classif

    from sparseprobe.probing.selection import mutual_information

    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 12)).astype(np.float32)
    y = rng.random(n) < 0.2
    x[y, :3] += 0.7
    x = np.maximum(x, 0) if relu else x
    x[:, 5] = 0.0
    np.testing.assert_allclose(mutual_information(x, y, seed=7),
                               mutual_info_classif(x, y, random_state=7), rtol=0, atol=1e-12)


def test_mean_difference_equals_the_class_means():
    from sparseprobe.probing.selection import mean_difference

    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 40)).astype(np.float32)
    y = rng.random(500) < 0.3
    np.testing.assert_allclose(mean_difference(x, y), np.abs(x[y].mean(0) - x[~y].mean(0)),
                               atol=1e-5)


def test_bootstrap_interval_equals_resampling_the_test_split():
    """The shared resample counts give exactly the interval of resampling (y, pred) directly."""
    from sparseprobe.probing.metrics import bootstrap_f1

    rng = np.random.default_rng(3)
    for n, seed in ((40, 1), (700, 2)):
        y, pred = rng.random(n) < 0.2, rng.random(n) < 0.3
        idx = np.random.default_rng(seed).integers(0, n, size=(300, n))
        ys, ps = y[idx], pred[idx]
        tp = (ys & ps).sum(1)
        denominator = 2 * tp + (~ys & ps).sum(1) + (ys & ~ps).sum(1)
        f1 = np.divide(2 * tp, denominator, out=np.zeros(300), where=denominator > 0)
        assert bootstrap_f1(y, pred, 300, seed) == tuple(np.percentile(f1, [2.5, 97.5]))
