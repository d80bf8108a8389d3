"""The shape of one rung, the training settings shared by a ladder, and the defaults."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from sparseprobe.errors import SparseProbeError

EOS_TOKEN = "<|endoftext|>"
"""The only special token; used as bos, eos, unk and pad (as in Pythia / GPT-NeoX)."""
EOS_ID = 0
"""Id of :data:`EOS_TOKEN` in every ladder tokenizer."""

_ROTARY_PCT = 0.25


class LadderError(SparseProbeError):
    """A ladder input (corpus, token stream, spec) cannot be used as asked."""


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class LadderModelSpec:
    """One rung of the ladder: the shape of one GPT-NeoX model.

    ``d_mlp`` defaults to ``4 * d_model`` (the Pythia ratio). The head dimension
    ``d_model // n_heads`` must be a multiple of 8 so that the rotary part
    (25% of each head, as in Pythia) has an even number of dimensions.
    """

    name: str
    d_model: int
    n_layers: int
    n_heads: int
    d_mlp: int | None = None

    @property
    def mlp_width(self) -> int:
        """The MLP hidden width actually used (``d_mlp`` or ``4 * d_model``)."""
        return self.d_mlp if self.d_mlp is not None else 4 * self.d_model

    def validate(self) -> None:
        """Raise :class:`LadderError` if this spec cannot build a model."""
        if not self.name or "/" in self.name or self.name.strip() != self.name:
            raise LadderError(f"bad model spec {self!r}: name must be a non-empty path-safe string")
        for field in ("d_model", "n_layers", "n_heads"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise LadderError(f"bad model spec {self.name!r}: {field}={value!r} must be a positive int")
        if self.d_mlp is not None and (
            not isinstance(self.d_mlp, int) or isinstance(self.d_mlp, bool) or self.d_mlp < 1
        ):
            raise LadderError(f"bad model spec {self.name!r}: d_mlp={self.d_mlp!r} must be a positive int or None")
        if self.d_model % self.n_heads:
            raise LadderError(
                f"bad model spec {self.name!r}: d_model={self.d_model} is not divisible by n_heads={self.n_heads}"
            )
        head_dim = self.d_model // self.n_heads
        if head_dim % 8:
            raise LadderError(
                f"bad model spec {self.name!r}: head dim d_model/n_heads={head_dim} must be a multiple of 8 "
                f"(rotary embeddings use {_ROTARY_PCT:.0%} of each head and need an even number of dims)"
            )


@dataclass(frozen=True)
class TrainingSpec:
    """Training hyper-parameters, shared by every rung of a ladder.

    ``tokens`` is the budget of tokens seen per model; it is rounded down to a whole
    number of ``batch_size * context_length`` steps. The learning rate warms up
    linearly over ``warmup_fraction`` of the steps, then follows a cosine decay to
    10% of ``learning_rate`` at the last step. ``checkpoint_steps``: steps after which the
    model is also saved (``ladder.checkpoints``, as steps; each in 1 .. steps - 1).
    """

    context_length: int = 128
    tokens: int = 500_000
    batch_size: int = 8
    learning_rate: float = 6e-3
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    seed: int = 0
    checkpoint_steps: tuple[int, ...] = ()  # also save the model after each of these steps

    @property
    def tokens_per_step(self) -> int:
        """Tokens in one optimizer step (``batch_size * context_length``)."""
        return self.batch_size * self.context_length

    @property
    def steps(self) -> int:
        """Number of optimizer steps (``tokens // tokens_per_step``)."""
        return self.tokens // self.tokens_per_step

    def validate(self) -> None:
        """Raise :class:`LadderError` if these settings cannot train a model."""
        for field in ("context_length", "tokens", "batch_size"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise LadderError(f"bad training spec: {field}={value!r} must be a positive int")
        if self.context_length < 2:
            raise LadderError(f"bad training spec: context_length={self.context_length} must be >= 2")
        if self.steps < 1:
            raise LadderError(
                f"bad training spec: tokens={self.tokens} is less than one step of "
                f"batch_size*context_length={self.tokens_per_step} tokens"
            )
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise LadderError(f"bad training spec: learning_rate={self.learning_rate!r} must be > 0")
        if not 0 <= self.warmup_fraction < 1:
            raise LadderError(f"bad training spec: warmup_fraction={self.warmup_fraction!r} must be in [0, 1)")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise LadderError(f"bad training spec: weight_decay={self.weight_decay!r} must be >= 0")
        outside = [s for s in self.checkpoint_steps if not 1 <= s < self.steps]
        if outside:
            raise LadderError(f"bad training spec: checkpoint_steps {outside} are not in 1 .. "
                              f"{self.steps - 1} (the steps before the last)")


@dataclass(frozen=True)
class TrainingReport:
    """What :func:`train_model` did; also written to ``<out_dir>/training.json``.

    ``final_loss`` is the mean training loss (nats/token) over the last 5% of steps
    (at least one step). ``non_embedding_parameters`` excludes both the input
    embedding and the unembedding matrix (the Pythia convention).
    """

    name: str
    parameters: int
    non_embedding_parameters: int
    tokens_seen: int
    steps: int
    final_loss: float
    seconds: float
    d_model: int
    n_layers: int
    d_mlp: int

    def to_json(self) -> str:
        """Serialise to a JSON object (pretty-printed, keys in field order)."""
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> "TrainingReport":
        """Parse the output of :meth:`to_json`; unknown keys are an error."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise LadderError("training report JSON must be an object")
        names = {f.name for f in dataclasses.fields(cls)}
        missing = names - data.keys()
        extra = data.keys() - names
        if missing or extra:
            raise LadderError(
                f"training report JSON has missing keys {sorted(missing)} / unknown keys {sorted(extra)}"
            )
        return cls(**data)


# ---------------------------------------------------------------------- defaults

DEFAULT_VOCAB_SIZE = 4096
"""Vocabulary size of the default ladder tokenizer."""

DEFAULT_LADDER: tuple[LadderModelSpec, ...] = (
    LadderModelSpec("L0", d_model=16, n_layers=1, n_heads=2),
    LadderModelSpec("L1", d_model=24, n_layers=1, n_heads=3),
    LadderModelSpec("L2", d_model=32, n_layers=2, n_heads=2),
    LadderModelSpec("L3", d_model=48, n_layers=2, n_heads=3),
    LadderModelSpec("L4", d_model=64, n_layers=3, n_heads=4),
    LadderModelSpec("L5", d_model=96, n_layers=4, n_heads=6),
    LadderModelSpec("L6", d_model=128, n_layers=4, n_heads=8),
)
"""Seven rungs, geometric in width (x~1.4 per rung) and depth (1 -> 4 layers)."""

DEFAULT_TRAINING = TrainingSpec()
"""Training settings of the default ladder (488 steps of 8 x 128 tokens, peak lr 6e-3).

Measured on a 2-core AMD EPYC (Zen 4) VM, one thread per job: the seven rungs of
:data:`DEFAULT_LADDER` take ~4 minutes of single-thread time in total (~2 minutes of
wall time two at a time) and reach final losses from ~6.3 (L0) down to ~5.3 nats (L6)
on a 2 MB English + multilingual corpus (ln 4096 = 8.3; unigram entropy ~7.2). The
token stream must hold at least 500k tokens (~1.5-2 MB of text at vocab 4096).
"""
