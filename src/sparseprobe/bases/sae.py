"""A TopK sparse autoencoder (Gao et al. 2024) in torch, and its seeded training on a matrix of
activations.

The model, in SAELens' layout and conventions:

- encode: ``z = TopK(ReLU)((x - b_dec) @ W_enc + b_enc)``: the k largest pre-activations of
  each row are kept (then passed through ReLU), every other latent is 0;
- decode: ``x_hat = z @ W_dec + b_dec``; ``W_enc`` is [d_in, d_sae], ``W_dec`` [d_sae, d_in],
  and each latent's decoder vector (a row of ``W_dec``) has unit norm after every step, so a
  latent's activation is its coefficient along that direction.

Training (:func:`train_sae`): Adam on the summed squared reconstruction error, batches drawn
from seeded permutations of the training rows until a fixed budget of rows (tokens) is seen,
plus the AuxK loss (dead latents reconstruct the residual error) that keeps latents alive.
Rows are split once, by the seed, into training rows and held-out rows; the
:class:`SAETrainingRecord` is measured on the held-out rows only.

What the record establishes: how much of the held-out activations' variance the k active
latents reconstruct, and how many latents never fire there. What it does not: that the latents
are interpretable, that they are the model's "true features", or that a model run on the
reconstruction would behave the same (no downstream loss is measured here).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sparseprobe.errors import SparseProbeError


class SAEError(SparseProbeError):
    """An SAE file is malformed, does not match the layer it is applied to, or cannot be
    trained as asked. Names the file, key or setting at fault."""


@dataclass(frozen=True)
class SAEConfig:
    """Shape and provenance of a TopK SAE. ``hook_name`` is the TransformerLens hook whose
    activations it encodes, with the layer filled in (``blocks.3.mlp.hook_post``)."""

    d_in: int
    d_sae: int
    k: int
    hook_name: str = ""
    model_name: str = ""
    apply_b_dec_to_input: bool = True

    def __post_init__(self) -> None:
        if self.d_in < 1 or self.d_sae < 1:
            raise SAEError(f"SAE shape d_in={self.d_in}, d_sae={self.d_sae}: both must be >= 1")
        if not 1 <= self.k <= self.d_sae:
            raise SAEError(f"SAE k={self.k}: must be between 1 and d_sae={self.d_sae}")

    @property
    def hook_layer(self) -> int | None:
        """The layer in ``hook_name`` (``blocks.{L}....``), None when it names none."""
        parts = self.hook_name.split(".")
        if len(parts) > 1 and parts[0] == "blocks" and parts[1].isdigit():
            return int(parts[1])
        return None


class TopKSAE(nn.Module):
    """A TopK sparse autoencoder; see the module docstring for the maps. ``source`` is the
    directory it was loaded from (None for one trained in this process), named in errors."""

    def __init__(self, cfg: SAEConfig, source: Path | None = None):
        super().__init__()
        self.cfg = cfg
        self.source = source
        self.W_enc = nn.Parameter(torch.zeros(cfg.d_in, cfg.d_sae))
        self.b_enc = nn.Parameter(torch.zeros(cfg.d_sae))
        self.W_dec = nn.Parameter(torch.zeros(cfg.d_sae, cfg.d_in))
        self.b_dec = nn.Parameter(torch.zeros(cfg.d_in))

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        """[n, d_sae] encoder outputs before the TopK."""
        shift = self.b_dec if self.cfg.apply_b_dec_to_input else torch.zeros_like(self.b_dec)
        return (x - shift) @ self.W_enc + self.b_enc

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[n, d_sae] latents: at most k non-zero (and non-negative) per row."""
        return top_k(self.pre_activations(x), self.cfg.k)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """[n, d_in] reconstruction of latents ``z``."""
        return z @ self.W_dec + self.b_dec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        """Scale each latent's decoder row to unit norm (a zero row is left as is)."""
        norms = self.W_dec.norm(dim=1, keepdim=True)
        self.W_dec.div_(torch.where(norms > 0, norms, torch.ones_like(norms)))


def top_k(pre: torch.Tensor, k: int) -> torch.Tensor:
    """Keep each row's k largest entries (then ReLU), zero the rest."""
    values, indices = pre.topk(k, dim=-1)
    return torch.zeros_like(pre).scatter(-1, indices, torch.relu(values))


def sparse_decode(sae: TopKSAE, values: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """:meth:`TopKSAE.decode` of latents given as each row's k (value, index) pairs: a
    weighted sum of k decoder rows (k x d_in per row instead of d_sae x d_in; training's
    backward pass touches only those rows)."""
    return nn.functional.embedding_bag(indices, sae.W_dec, per_sample_weights=values,
                                       mode="sum") + sae.b_dec


@dataclass(frozen=True)
class SAETrainingSettings:
    """How :func:`train_sae` trains. ``tokens``: rows seen in training in all (the budget;
    steps = ceil(tokens / batch_size)); ``held_out_fraction`` of the rows (at least one) is
    kept out of training for the record; ``dead_after``: a latent that has not fired for this
    many training rows is dead for the AuxK loss (``aux_k`` of them, weighted
    ``aux_coefficient``, reconstruct the residual error; 0 turns AuxK off)."""

    d_sae: int
    k: int
    seed: int = 0
    tokens: int = 50_000
    batch_size: int = 256
    learning_rate: float = 3e-3
    held_out_fraction: float = 0.1
    dead_after: int = 20_000
    aux_k: int = 64
    aux_coefficient: float = 1 / 32
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("tokens", "batch_size", "dead_after"):
            if getattr(self, name) < 1:
                raise SAEError(f"SAE training setting {name}={getattr(self, name)}: must be >= 1")
        if self.learning_rate <= 0 or self.aux_k < 0 or self.aux_coefficient < 0:
            raise SAEError(f"SAE training settings learning_rate={self.learning_rate}, "
                           f"aux_k={self.aux_k}, aux_coefficient={self.aux_coefficient}: the "
                           f"rate must be > 0, the others >= 0")


@dataclass(frozen=True)
class SAETrainingRecord:
    """What training did and how well the SAE reconstructs the held-out rows.

    ``fraction_variance_explained``: 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 over the
    held-out rows (1: perfect; 0: no better than their mean; can be negative).
    ``normalized_mse``: sum ||x - x_hat||^2 / sum ||x||^2 (the error relative to predicting 0).
    ``dead_fraction``: the fraction of latents that are zero on every held-out row.
    ``mean_l0``: mean number of non-zero latents per held-out row (<= k; below k where ReLU
    zeroes a selected latent)."""

    seed: int
    d_in: int
    d_sae: int
    k: int
    hook_name: str
    n_train_rows: int
    n_held_out_rows: int
    tokens_seen: int
    steps: int
    batch_size: int
    learning_rate: float
    final_train_mse: float
    fraction_variance_explained: float
    normalized_mse: float
    dead_fraction: float
    mean_l0: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainedSAE:
    """A trained SAE and its training record."""

    sae: TopKSAE
    record: SAETrainingRecord


@dataclass(frozen=True)
class Reconstruction:
    """Reconstruction quality of an SAE on a set of rows (see :class:`SAETrainingRecord`)."""

    fraction_variance_explained: float
    normalized_mse: float
    dead_fraction: float
    mean_l0: float


def held_out_split(n_rows: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, held-out rows): a seeded permutation of ``range(n_rows)`` cut so that
    ceil(fraction * n_rows) rows (at least one, leaving at least one) are held out."""
    if n_rows < 2:
        raise SAEError(f"an SAE needs at least 2 rows of activations (train and held out), "
                       f"got {n_rows}")
    if not 0 < fraction < 1:
        raise SAEError(f"held_out_fraction={fraction}: must be in (0, 1)")
    n_held = min(n_rows - 1, max(1, math.ceil(fraction * n_rows)))
    order = np.random.default_rng(seed).permutation(n_rows)
    return np.sort(order[n_held:]), np.sort(order[:n_held])


def _initialize(sae: TopKSAE, x_train: torch.Tensor, generator: torch.Generator) -> None:
    """Random unit decoder rows, the encoder their transpose, b_enc 0, b_dec the train mean."""
    with torch.no_grad():
        w = torch.randn(sae.cfg.d_sae, sae.cfg.d_in, generator=generator)
        sae.W_dec.copy_(w / w.norm(dim=1, keepdim=True))
        sae.W_enc.copy_(sae.W_dec.T)
        sae.b_enc.zero_()
        sae.b_dec.copy_(x_train.mean(0))


def _aux_k_loss(sae: TopKSAE, x: torch.Tensor, x_hat: torch.Tensor, pre: torch.Tensor,
                dead: torch.Tensor, settings: SAETrainingSettings) -> torch.Tensor:
    """Squared error of the top dead latents' reconstruction of the residual x - x_hat."""
    n_dead = int(dead.sum())
    if n_dead == 0 or settings.aux_k == 0 or settings.aux_coefficient == 0:
        return x.new_zeros(())
    masked = torch.where(dead, pre, torch.full_like(pre, -torch.inf))
    values, indices = masked.topk(min(settings.aux_k, n_dead), dim=-1)
    residual = (x - x_hat).detach()
    aux = sparse_decode(sae, torch.relu(values), indices) - sae.b_dec
    return ((aux - residual) ** 2).sum(-1).mean()


def _train_step(sae: TopKSAE, optimizer: torch.optim.Optimizer, xb: torch.Tensor,
                since_fired: torch.Tensor, settings: SAETrainingSettings
                ) -> tuple[float, torch.Tensor]:
    """One Adam step on batch ``xb`` (reconstruction + AuxK), then the decoder renormalised.
    Returns the batch's reconstruction MSE (summed over d_in, mean over rows) and the updated
    count of training rows since each latent last fired."""
    pre = sae.pre_activations(xb)
    values, indices = pre.topk(sae.cfg.k, dim=-1)
    values = torch.relu(values)
    x_hat = sparse_decode(sae, values, indices)
    loss = ((x_hat - xb) ** 2).sum(-1).mean()
    fired = torch.zeros_like(since_fired, dtype=torch.bool)
    fired[indices[values > 0]] = True
    since_fired = torch.where(fired, 0, since_fired + xb.shape[0])
    total = loss + settings.aux_coefficient * _aux_k_loss(
        sae, xb, x_hat, pre, since_fired >= settings.dead_after, settings)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    sae.normalize_decoder()
    return float(loss.detach()), since_fired


def train_sae(activations: np.ndarray, settings: SAETrainingSettings, hook_name: str = "",
              model_name: str = "") -> TrainedSAE:
    """Train a TopK SAE on ``activations`` [n_rows, d_in] (rows: tokens or examples).

    Deterministic for a seed on one device and thread count: the split, the initialisation
    and the batch order come from ``settings.seed`` only. Raises SAEError on a matrix that is
    not 2-d, has non-finite values or too few rows.
    """
    x = _as_matrix(activations)
    cfg = SAEConfig(d_in=x.shape[1], d_sae=settings.d_sae, k=settings.k, hook_name=hook_name,
                    model_name=model_name)
    train_rows, held_rows = held_out_split(x.shape[0], settings.held_out_fraction, settings.seed)
    device = torch.device(settings.device)
    x_train = torch.from_numpy(x[train_rows]).to(device)
    generator = torch.Generator().manual_seed(settings.seed)
    sae = TopKSAE(cfg)
    _initialize(sae, x_train.cpu(), generator)
    sae.to(device)
    optimizer = torch.optim.Adam(sae.parameters(), lr=settings.learning_rate)
    batch = min(settings.batch_size, len(train_rows))
    steps = math.ceil(settings.tokens / batch)
    since_fired = torch.zeros(cfg.d_sae, dtype=torch.long, device=device)
    order = torch.randperm(len(train_rows), generator=generator)
    cursor, mse = 0, float("nan")
    for _ in range(steps):
        if cursor + batch > len(order):
            order, cursor = torch.randperm(len(train_rows), generator=generator), 0
        xb = x_train[order[cursor : cursor + batch].to(device)]
        cursor += batch
        mse, since_fired = _train_step(sae, optimizer, xb, since_fired, settings)
    sae.to("cpu").eval()
    quality = reconstruction(sae, x[held_rows])
    record = SAETrainingRecord(
        seed=settings.seed, d_in=cfg.d_in, d_sae=cfg.d_sae, k=cfg.k, hook_name=hook_name,
        n_train_rows=len(train_rows), n_held_out_rows=len(held_rows), tokens_seen=steps * batch,
        steps=steps, batch_size=batch, learning_rate=settings.learning_rate,
        final_train_mse=mse, **asdict(quality),
    )
    return TrainedSAE(sae, record)


def _as_matrix(activations: np.ndarray) -> np.ndarray:
    x = np.asarray(activations, dtype=np.float32)
    if x.ndim != 2:
        raise SAEError(f"SAE training takes a [rows, d_in] matrix, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise SAEError(f"SAE training matrix has {int((~np.isfinite(x)).sum())} non-finite "
                       f"values")
    return np.ascontiguousarray(x)


@torch.no_grad()
def encode(sae: TopKSAE, x: np.ndarray, batch_rows: int = 4096) -> np.ndarray:
    """Latents of ``x`` [n, d_in] as float32 [n, d_sae], encoded ``batch_rows`` at a time."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != sae.cfg.d_in:
        where = f" (loaded from {sae.source})" if sae.source else ""
        raise SAEError(f"SAE{where} has d_in={sae.cfg.d_in}; got rows of shape {x.shape}")
    out = np.empty((x.shape[0], sae.cfg.d_sae), dtype=np.float32)
    for lo in range(0, x.shape[0], batch_rows):
        out[lo : lo + batch_rows] = sae.encode(torch.from_numpy(x[lo : lo + batch_rows])).numpy()
    return out


@torch.no_grad()
def reconstruction(sae: TopKSAE, x: np.ndarray, batch_rows: int = 4096) -> Reconstruction:
    """Reconstruction quality of ``sae`` on rows ``x`` (float64 sums over batches)."""
    x = np.asarray(x, dtype=np.float32)
    mean = x.astype(np.float64).mean(0)
    sse = sst = total = 0.0
    fired = np.zeros(sae.cfg.d_sae, dtype=bool)
    nonzero = 0
    for lo in range(0, x.shape[0], batch_rows):
        xb = x[lo : lo + batch_rows]
        z = sae.encode(torch.from_numpy(xb))
        x_hat = sae.decode(z).numpy().astype(np.float64)
        active = (z != 0).numpy()
        fired |= active.any(0)
        nonzero += int(active.sum())
        xb64 = xb.astype(np.float64)
        sse += float(((xb64 - x_hat) ** 2).sum())
        sst += float(((xb64 - mean) ** 2).sum())
        total += float((xb64**2).sum())
    return Reconstruction(
        fraction_variance_explained=1 - sse / sst if sst > 0 else float("nan"),
        normalized_mse=sse / total if total > 0 else float("nan"),
        dead_fraction=float(1 - fired.mean()),
        mean_l0=nonzero / x.shape[0],
    )
