"""The batched logistic-regression engine against sklearn (the reference backend)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sparseprobe.probing.engine import fit_logistic_batch
from sparseprobe.probing.splits import FeatureData
from sparseprobe.probing.sweep import ProbeSettings, sweep_layer


def _problems(batch=6, n=400, k=8, seed=0):
    rng = np.random.default_rng(seed)
    x = np.abs(rng.normal(size=(batch, n, k)))
    y = rng.random((batch, n)) < np.linspace(0.1, 0.5, batch)[:, None]
    x[y] += rng.uniform(0.1, 1.0, size=k)  # a planted shift on every neuron
    return x, y


@pytest.mark.parametrize("C,device", [(0.1, "numpy"), (1.0, "numpy"), (10.0, "numpy"),
                                      (1.0, "cpu")])
def test_coefficients_match_sklearn_at_tight_tolerance(C, device):
    """Same objective: with sklearn run to a tight tolerance, coefficients agree to 1e-5
    (relative to their size); sklearn's default tol=1e-4 leaves ~1e-3 differences, which is the
    tolerance the probe rows inherit."""
    x, y = _problems()
    fit = fit_logistic_batch(x, y, C=C, device=device)  # numpy, or torch on the CPU
    assert fit.converged.all() and (fit.n_iter <= 20).all()
    for b in range(len(x)):
        ref = LogisticRegression(C=C, class_weight="balanced", tol=1e-12, max_iter=10_000)
        ref.fit(x[b], y[b])
        scale = max(1.0, np.abs(ref.coef_).max())
        assert np.abs(fit.coef[b] - ref.coef_[0]).max() / scale < 1e-5
        assert abs(fit.intercept[b] - ref.intercept_[0]) / scale < 1e-5


def test_padding_rows_do_not_change_a_fit():
    x, y = _problems(batch=2)
    alone = fit_logistic_batch(x[:1, :300], y[:1, :300], device="cpu")
    mask = np.zeros((2, 400), dtype=bool)
    mask[0, :300], mask[1] = True, True
    padded = fit_logistic_batch(x, y, mask=mask, device="cpu")
    np.testing.assert_allclose(padded.coef[0], alone.coef[0], atol=1e-9)


def test_a_batch_needs_both_classes():
    x, y = _problems(batch=2)
    y[1] = False
    with pytest.raises(ValueError, match="both classes"):
        fit_logistic_batch(x, y, device="cpu")


def test_torch_and_sklearn_backends_give_the_same_sweep():
    """Every row of a layer's sweep: same neurons, F1 within 0.005 (the engine and lbfgs differ
    only by sklearn's stopping tolerance)."""
    rng = np.random.default_rng(1)
    features = []
    for f, n in enumerate((500, 430)):  # unequal sizes exercise the padding
        y = rng.random(n) < 0.25
        pre = rng.normal(size=(n, 96))
        pre[y, 10 + f] += 2.0
        x = np.maximum(pre, 0)
        cut = int(0.7 * n)
        features.append(FeatureData(f"f{f}", x[:cut], y[:cut], x[cut:], y[cut:]))
    settings = ProbeSettings(k_grid=(1, 2, 4, 16, 64, 256), backend="engine")
    torch_rows = sweep_layer(features, settings)
    sk_rows = sweep_layer(features, ProbeSettings(k_grid=settings.k_grid, backend="sklearn"))
    for a_rows, b_rows in zip(torch_rows, sk_rows):
        assert [(r["method"], r["k"]) for r in a_rows] == [(r["method"], r["k"]) for r in b_rows]
        for a, b in zip(a_rows, b_rows):
            assert a["neurons"] == b["neurons"]
            assert abs(a["f1"] - b["f1"]) <= 0.005
            assert a["converged"]
    assert torch_rows[1][0]["neurons"] == [11] and torch_rows[1][0]["f1"] > 0.6


def test_lbfgs_reaches_the_newton_optimum_on_shared_and_per_probe_designs():
    """The wide solver minimises the same objective: one shared design [n, d] for the batch, or
    a design per probe, both give Newton's coefficients, and the float64 check passes."""
    from sparseprobe.probing.wide import fit_logistic_lbfgs

    rng = np.random.default_rng(3)
    n, d, batch = 600, 40, 3
    x = np.maximum(rng.normal(size=(n, d)), 0).astype(np.float32)
    y = rng.random((batch, n)) < np.array([[0.1], [0.3], [0.5]])
    for b in range(batch):
        x[y[b], b] += 0.5
    newton = fit_logistic_batch(np.broadcast_to(x, (batch, n, d)).astype(np.float64), y,
                                device="numpy")
    shared = fit_logistic_lbfgs(x, y, tol=1e-7)
    stacked = fit_logistic_lbfgs(np.broadcast_to(x, (batch, n, d)).copy(), y, tol=1e-7)
    for fit in (shared, stacked):
        assert fit.converged.all()
        scale = np.abs(newton.coef).max()
        assert np.abs(fit.coef - newton.coef).max() / scale < 1e-3
        np.testing.assert_allclose(fit.intercept, newton.intercept, atol=1e-3 * scale)


def test_lbfgs_reports_a_probe_stopped_short_as_not_converged():
    from sparseprobe.probing.wide import fit_logistic_lbfgs

    x, y = _problems(batch=2, k=30)
    fit = fit_logistic_lbfgs(x, y, tol=1e-9, max_iter=2)
    assert not fit.converged.any() and (fit.n_iter == 2).all()


def test_wide_probes_match_sklearn_on_every_row(monkeypatch):
    """Probes wider than ENGINE_MAX_K (lowered here so the test stays small) go to the batched
    L-BFGS solver; every row's F1 is within 0.005 of sklearn's, and features that share their
    examples share one design."""
    from sparseprobe.probing import sweep

    monkeypatch.setattr(sweep, "ENGINE_MAX_K", 32)
    rng = np.random.default_rng(5)
    n, d = 700, 120
    x = np.maximum(rng.normal(size=(n, d)), 0)
    cut = int(0.7 * n)
    features = []
    for f in range(3):
        y = rng.random(n) < 0.2 + 0.1 * f
        x[y, 7 * f] += 1.0
        features.append((f"f{f}", y))
    x_train, x_test = x[:cut], x[cut:]  # one pair of arrays, as probe_layer shares them
    datas = [FeatureData(name, x_train, y[:cut], x_test, y[cut:]) for name, y in features]
    settings = ProbeSettings(k_grid=(4, 64))
    wide_rows = sweep_layer(datas, settings)
    sk_rows = sweep_layer(datas, ProbeSettings(k_grid=settings.k_grid, backend="sklearn"))
    for a_rows, b_rows in zip(wide_rows, sk_rows):
        assert [(r["method"], r["k"]) for r in a_rows] == [(r["method"], r["k"]) for r in b_rows]
        for a, b in zip(a_rows, b_rows):
            assert a["converged"] and abs(a["f1"] - b["f1"]) <= 0.005
    dense = [rows[-1] for rows in wide_rows]
    assert all(r["method"] == "dense" and r["k"] == d for r in dense)
    assert len({r["fit_seconds"] for r in dense}) == 1  # one solve for the three features


def test_balanced_weights_match_sklearn_per_probe_and_ignore_padding():
    from sklearn.utils.class_weight import compute_sample_weight

    from sparseprobe.probing.engine import balanced_weights

    rng = np.random.default_rng(0)
    y = rng.random((3, 40)) < np.array([[0.2], [0.5], [0.7]])
    mask = np.ones_like(y)
    mask[2, 30:] = False  # the third probe has 30 real rows
    weights = balanced_weights(y, mask)
    for b in range(3):
        real = mask[b]
        np.testing.assert_allclose(weights[b, real], compute_sample_weight("balanced", y[b, real]))
    assert (weights[2, 30:] == 0).all()
    with pytest.raises(ValueError, match="both classes"):
        balanced_weights(np.zeros((1, 5), dtype=bool))
