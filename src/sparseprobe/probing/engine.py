"""A batched fitting engine for class-balanced L2 logistic-regression probes.

The paper's sweep is hundreds of thousands of small logistic regressions. Fitted one at a time in
sklearn, each pays a fixed call overhead whatever its size. This engine fits a whole batch of
probes that share k (e.g. every feature of a layer at one k) in one Newton solve on stacked
arrays: with numpy on the CPU (no torch or sklearn import, which matters for short probe jobs),
or with torch on a GPU (``device: cuda``) or CPU.

Objective (exactly sklearn's ``LogisticRegression(C=C, class_weight="balanced")``, intercept not
penalised):

    min_{w, b}  C * sum_i s_i * log(1 + exp(-t_i (x_i . w + b)))  +  ||w||^2 / 2

with t_i = +-1 and the balanced sample weight s_i = n / (2 n_{class(i)}). The objective is
strictly convex, so both solvers reach the same optimum; this one uses Newton's method with a
backtracking line search in float64 and stops when the largest gradient entry is below ``tol``
or the Newton decrement is below the objective's rounding (sklearn's lbfgs stops at its own,
looser tolerance, so coefficients agree to that tolerance; tests/test_engine.py measures it).
A probe that does not converge in ``max_iter`` steps is reported as not converged, never
silently.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class BatchFit:
    """Per probe of a batch: coefficients [B, k], intercepts [B], iterations, convergence."""

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray


class _Numpy:
    """The array operations the Newton loop needs, on numpy (CPU)."""

    name = "numpy"

    def asarray(self, a, dtype=None):
        return np.asarray(a, dtype=dtype)

    def sigmoid(self, z):
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    def softplus(self, z):
        return np.logaddexp(0.0, z)

    def solve(self, a, b):
        return np.linalg.solve(a, b[..., None])[..., 0]

    def amax(self, a, axis):
        return np.max(a, axis=axis)

    def as_float32(self, a):
        return a.astype(np.float32)

    def gram(self, a):
        """[B, n, m] float32 -> [B, m, m] float64 a^T a. Wide probes use BLAS syrk (half the
        product, and about 3x faster here than numpy's stacked matmul); scipy is imported
        only then (0.3 s, more than a small probe job's fits)."""
        if a.shape[2] < 64:
            return (a.swapaxes(1, 2) @ a).astype(np.float64)
        from scipy.linalg.blas import ssyrk

        out = np.empty((a.shape[0], a.shape[2], a.shape[2]))
        for b in range(a.shape[0]):
            upper = ssyrk(1.0, a[b].T, trans=0)  # a[b].T is column-major: no copy
            out[b] = upper + np.triu(upper, 1).T
        return out

    def with_intercept(self, x, dtype):
        x = np.asarray(x)
        out = np.empty((*x.shape[:2], x.shape[2] + 1), dtype=dtype)
        out[:, :, :-1] = x
        out[:, :, -1] = 1.0
        return out

    def to_numpy(self, a):
        return np.asarray(a)

    def zeros(self, shape):
        return np.zeros(shape)


class _Torch:
    """The same operations on torch (CPU or GPU)."""

    name = "torch"

    def __init__(self, device: str):
        import torch

        self.torch = torch
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)

    def asarray(self, a, dtype=None):
        t = self.torch.as_tensor(a, device=self.device)
        return t.to(self.torch.float64) if dtype is np.float64 else t

    def sigmoid(self, z):
        return self.torch.sigmoid(z)

    def softplus(self, z):
        return self.torch.nn.functional.softplus(z)

    def solve(self, a, b):
        return self.torch.linalg.solve(a, b)

    def amax(self, a, axis):
        return self.torch.amax(a, dim=axis)

    def as_float32(self, a):
        return a.to(self.torch.float32)

    def gram(self, a):
        return (a.swapaxes(1, 2) @ a).to(self.torch.float64)

    def with_intercept(self, x, dtype):
        torch_dtype = self.torch.float64 if dtype is np.float64 else self.torch.float32
        x = self.torch.as_tensor(x, device=self.device).to(torch_dtype)
        ones = self.torch.ones((*x.shape[:2], 1), dtype=torch_dtype, device=self.device)
        return self.torch.cat([x, ones], dim=2)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def to_numpy(self, a):
        return a.cpu().numpy()


def array_backend(device: str):
    """``numpy``: numpy on the CPU; ``auto``: torch on the GPU when torch sees one, else numpy;
    ``cpu`` / ``cuda[:i]``: torch on that device."""
    if device == "numpy":
        return _Numpy()
    if device == "auto":
        # importing torch costs ~1 s, more than a small probe job's fits: only look for CUDA
        # where an NVIDIA driver is present
        if Path("/dev/nvidiactl").exists() and importlib.util.find_spec("torch") is not None:
            import torch

            if torch.cuda.is_available():
                return _Torch("cuda")
        return _Numpy()
    return _Torch(device)


def balanced_weights(y: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-example weights [batch, n] of sklearn's ``class_weight="balanced"`` for each probe of
    a batch (n_real / (2 n_class) on its real rows, 0 on the padding ``mask`` leaves out).
    Raises ValueError when a probe's real rows lack one of the classes."""
    y = np.asarray(y, dtype=bool)
    real = np.ones_like(y) if mask is None else np.asarray(mask, dtype=bool)
    n_real = real.sum(1, keepdims=True).astype(np.float64)
    n_pos = (y & real).sum(1, keepdims=True).astype(np.float64)
    if ((n_pos == 0) | (n_pos == n_real)).any():
        raise ValueError("every probe of a batch needs both classes in its labels")
    return np.where(y, n_real / (2 * np.maximum(n_pos, 1)),
                    n_real / (2 * np.maximum(n_real - n_pos, 1))) * real


def fit_logistic_batch(
    x: np.ndarray,
    y: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    C: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-8,
    device: str = "auto",
    init: np.ndarray | None = None,
) -> BatchFit:
    """Fit B class-balanced L2 logistic regressions at once.

    ``x``: [B, n, k] design matrices (probe b reads its own k columns), ``y``: [B, n] bool labels
    (each probe needs both classes), ``mask``: [B, n] bool, False for padding rows (probes with
    fewer examples than ``n``; they get weight 0). ``device`` picks the array backend (see
    :func:`array_backend`). ``init``: [B, k+1] starting (coefficients, intercept), e.g. the fit
    of the same feature at a smaller k padded with zeros (the optimum does not depend on it: the
    objective is strictly convex; a good start saves Newton steps). Returns coefficients in the
    units of ``x``.

    The gradient, objective and convergence test are float64. The Hessian is formed in float32
    (half the cost of the k^2 product that dominates wide probes): an inexact Newton step still
    converges to the float64 tolerance, at worst in one or two more steps.
    """
    xp = array_backend(device)
    y = np.asarray(y, dtype=bool)
    batch, n, k = np.shape(x)
    sw_np = balanced_weights(y, mask)
    t = xp.asarray(y * 2.0 - 1.0, dtype=np.float64)
    sw = xp.asarray(sw_np, dtype=np.float64)
    xa = xp.with_intercept(x, np.float64)  # [B, n, k+1]: the design and a column of ones
    xa32 = xp.with_intercept(x, np.float32)
    penalty_np = np.ones(k + 1)
    penalty_np[-1] = 0.0
    penalty = xp.asarray(penalty_np, dtype=np.float64)
    ridge = xp.asarray(np.diag(penalty_np), dtype=np.float64)
    theta = xp.zeros((batch, k + 1)) if init is None else xp.asarray(
        np.asarray(init, dtype=np.float64).reshape(batch, k + 1), dtype=np.float64)

    xa_t = xa.swapaxes(1, 2)  # [B, k+1, n]

    def scores(theta):
        return (xa @ theta[:, :, None])[:, :, 0]

    def objective(z, theta):
        return C * (sw * xp.softplus(-t * z)).sum(1) + 0.5 * (penalty * theta * theta).sum(1)

    n_iter = np.zeros(batch, dtype=np.int64)
    converged = np.zeros(batch, dtype=bool)
    z = scores(theta)
    for iteration in range(max_iter + 1):
        p = xp.sigmoid(-t * z)  # d/dz softplus(-t z) = -t p
        grad = (xa_t @ (C * sw * (-t) * p)[:, :, None])[:, :, 0] + penalty * theta
        converged |= xp.to_numpy(xp.amax(abs(grad), 1)) < tol
        if converged.all() or iteration == max_iter:
            break
        root = (C * sw * p * (1 - p)) ** 0.5
        hessian = xp.gram(xa32 * xp.as_float32(root)[:, :, None]) + ridge
        step = xp.solve(hessian, grad)
        before = objective(z, theta)
        # Newton decrement: the predicted decrease; below the objective's rounding = optimal
        decrement = xp.to_numpy((grad * step).sum(1))
        converged |= decrement < 1e-12 * np.maximum(np.abs(xp.to_numpy(before)), 1.0)
        active = ~converged
        if not active.any():
            break
        step = step * xp.asarray(active[:, None] * 1.0, dtype=np.float64)
        z_step = scores(step)  # scores are linear in theta: one product per Newton step
        scale = np.ones(batch)
        for _ in range(30):  # backtracking (Armijo), per probe
            scale_x = xp.asarray(scale, dtype=np.float64)
            after = objective(z - scale_x[:, None] * z_step, theta - scale_x[:, None] * step)
            ok = xp.to_numpy(after <= before - 1e-4 * scale_x * (grad * step).sum(1))
            if ok.all():
                break
            scale = np.where(ok, scale, scale / 2)
        scale_x = xp.asarray(scale, dtype=np.float64)
        theta = theta - scale_x[:, None] * step
        z = z - scale_x[:, None] * z_step
        n_iter += active
    theta_np = xp.to_numpy(theta)
    return BatchFit(coef=theta_np[:, :k], intercept=theta_np[:, k], n_iter=n_iter,
                    converged=converged)
