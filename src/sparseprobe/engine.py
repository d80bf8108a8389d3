"""A batched fitting engine for class-balanced L2 logistic-regression probes (torch).

The paper's sweep is hundreds of thousands of small logistic regressions. Fitted one at a time in
sklearn, each pays ~10 ms of call overhead whatever its size. This engine fits a whole batch of
probes that share k (e.g. every feature of a layer at one k) in one Newton solve on stacked
tensors, on the CPU or on a GPU.

Objective (exactly sklearn's ``LogisticRegression(C=C, class_weight="balanced")``, intercept not
penalised):

    min_{w, b}  C * sum_i s_i * log(1 + exp(-t_i (x_i . w + b)))  +  ||w||^2 / 2

with t_i = +-1 and the balanced sample weight s_i = n / (2 n_{class(i)}). The objective is
strictly convex, so both solvers reach the same optimum; this one uses Newton's method with a
backtracking line search in float64 and stops when the largest gradient entry is below ``tol``
or the Newton decrement is below the objective's rounding (sklearn's lbfgs stops at its own,
looser tolerance, so coefficients agree to that tolerance;
tests/test_engine.py measures it). A probe that does not reach ``tol`` in ``max_iter`` steps is
reported as not converged, never silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class BatchFit:
    """Per probe of a batch: coefficients [B, k], intercepts [B], iterations, convergence."""

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray


def pick_device(requested: str = "auto") -> torch.device:
    """``auto``: the GPU when torch sees one, else the CPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def _objective(x, t, sw, w, b, C):
    margin = t * (torch.einsum("bnk,bk->bn", x, w) + b[:, None])
    return C * (sw * torch.nn.functional.softplus(-margin)).sum(1) + 0.5 * (w * w).sum(1)


def fit_logistic_batch(
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    *,
    mask: np.ndarray | torch.Tensor | None = None,
    C: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-8,
    device: str = "auto",
) -> BatchFit:
    """Fit B class-balanced L2 logistic regressions at once.

    ``x``: [B, n, k] design matrices (probe b reads its own k columns), ``y``: [B, n] bool labels
    (each probe needs both classes), ``mask``: [B, n] bool, False for padding rows (probes with
    fewer examples than ``n``; they get weight 0). Returns coefficients in the units of ``x``.
    """
    dev = pick_device(device)
    x = torch.as_tensor(x, dtype=torch.float64, device=dev)
    yb = torch.as_tensor(y, device=dev).bool()
    batch, n, k = x.shape
    real = (torch.ones_like(yb) if mask is None else torch.as_tensor(mask, device=dev).bool())
    n_real = real.sum(1, keepdim=True).double()
    n_pos = (yb & real).sum(1, keepdim=True).double()
    if bool(((n_pos == 0) | (n_pos == n_real)).any()):
        raise ValueError("every probe of a batch needs both classes in its labels")
    t = yb.double() * 2 - 1
    sw = torch.where(yb, n_real / (2 * n_pos), n_real / (2 * (n_real - n_pos))) * real
    xa = torch.cat([x, torch.ones(batch, n, 1, dtype=x.dtype, device=dev)], dim=2)
    theta = torch.zeros(batch, k + 1, dtype=x.dtype, device=dev)
    penalty = torch.ones(k + 1, dtype=x.dtype, device=dev)
    penalty[-1] = 0.0
    n_iter = torch.zeros(batch, dtype=torch.int64, device=dev)
    converged = torch.zeros(batch, dtype=torch.bool, device=dev)
    for iteration in range(max_iter + 1):
        z = torch.einsum("bnk,bk->bn", xa, theta)
        p = torch.sigmoid(-t * z)  # d/dz of softplus(-t z) = -t * p
        grad = torch.einsum("bnk,bn->bk", xa, C * sw * (-t) * p) + penalty * theta
        converged |= grad.abs().amax(1) < tol
        active = ~converged
        if not bool(active.any()) or iteration == max_iter:
            break
        curvature = C * sw * p * (1 - p)
        hessian = torch.einsum("bnk,bn,bnj->bkj", xa, curvature, xa) + torch.diag(penalty)
        step = torch.linalg.solve(hessian, grad.unsqueeze(-1)).squeeze(-1)
        before = _objective(x, t, sw, theta[:, :k], theta[:, k], C)
        # Newton decrement: the predicted decrease; below rounding of the objective = optimal
        decrement = (grad * step).sum(1)
        flat = decrement < 1e-12 * before.abs().clamp(min=1.0)
        converged |= flat
        active = ~converged
        if not bool(active.any()):
            break
        step = torch.where(active[:, None], step, torch.zeros_like(step))
        scale = torch.ones(batch, dtype=x.dtype, device=dev)
        for _ in range(30):  # backtracking (Armijo) per probe
            trial = theta - scale[:, None] * step
            after = _objective(x, t, sw, trial[:, :k], trial[:, k], C)
            ok = after <= before - 1e-4 * scale * (grad * step).sum(1)
            if bool(ok.all()):
                break
            scale = torch.where(ok, scale, scale / 2)
        theta = theta - scale[:, None] * step
        n_iter += active.long()
    return BatchFit(
        coef=theta[:, :k].cpu().numpy(),
        intercept=theta[:, k].cpu().numpy(),
        n_iter=n_iter.cpu().numpy(),
        converged=converged.cpu().numpy(),
    )
