"""Train a "ladder" of tiny Pythia-architecture language models, offline.

The recipe follows how the Pythia suite was made, scaled down to a laptop:

1. one byte-level BPE tokenizer is trained on the corpus (:func:`train_tokenizer`);
2. the corpus is tokenized once into a single token stream, documents separated
   by the ``<|endoftext|>`` token (id 0) (:func:`tokenize_corpus`);
3. several GPT-NeoX models of geometrically growing width and depth
   (:class:`LadderModelSpec`, :func:`build_config`) are trained on exactly the same
   token windows in exactly the same order (:func:`train_model`).

Every trained model is written as an ordinary Hugging Face directory (model weights in
safetensors + tokenizer files + ``training.json``), loadable with
``transformers.AutoModelForCausalLM`` and with
``transformer_lens.model_bridge.TransformerBridge.boot_transformers``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow.parquet as pq

from sparseprobe.errors import SparseProbeError

__all__ = [
    "DEFAULT_LADDER",
    "DEFAULT_TRAINING",
    "DEFAULT_VOCAB_SIZE",
    "EOS_TOKEN",
    "EOS_ID",
    "LadderError",
    "LadderModelSpec",
    "TrainingSpec",
    "TrainingReport",
    "train_tokenizer",
    "tokenize_corpus",
    "build_config",
    "train_model",
    "window_order",
    "read_report",
]

EOS_TOKEN = "<|endoftext|>"
"""The only special token; used as bos, eos, unk and pad (as in Pythia / GPT-NeoX)."""
EOS_ID = 0
"""Id of :data:`EOS_TOKEN` in every ladder tokenizer."""

_BYTE_ALPHABET_SIZE = 256
_TOKENIZE_BATCH_DOCS = 1024
_ROTARY_PCT = 0.25
_ROPE_THETA = 10_000.0
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


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
    10% of ``learning_rate`` at the last step.
    """

    context_length: int = 128
    tokens: int = 500_000
    batch_size: int = 8
    learning_rate: float = 6e-3
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    seed: int = 0

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


# ------------------------------------------------------------------------ corpus


def _read_texts(corpus: Path) -> list[str]:
    """The ``text`` column of a Parquet corpus, as Python strings (nulls -> "")."""
    corpus = Path(corpus)
    if not corpus.is_file():
        raise LadderError(f"corpus {corpus} does not exist")
    try:
        schema = pq.read_schema(corpus)
    except Exception as exc:  # pyarrow raises several types for non-parquet input
        raise LadderError(f"corpus {corpus} is not a readable Parquet file: {exc}") from exc
    if "text" not in schema.names:
        raise LadderError(f"corpus {corpus} has no 'text' column (columns: {schema.names})")
    column = pq.read_table(corpus, columns=["text"]).column("text")
    texts = [t if t is not None else "" for t in column.to_pylist()]
    if not any(texts):
        raise LadderError(f"corpus {corpus} is empty: its 'text' column has {len(texts)} rows and no text")
    if not all(isinstance(t, str) for t in texts):
        raise LadderError(f"corpus {corpus}: column 'text' must hold strings, not {column.type}")
    return texts


def train_tokenizer(corpus: Path, out_dir: Path, vocab_size: int) -> None:
    """Train a deterministic byte-level BPE tokenizer on ``corpus`` and save it.

    ``corpus`` is a Parquet file with a string column ``text`` (one document per row).
    The tokenizer mirrors Pythia's: NFC normalisation, ByteLevel pre-tokenizer
    (``add_prefix_space=False``) and decoder, the full 256-byte initial alphabet, and
    the single special token ``<|endoftext|>`` with id 0 used as bos/eos/unk/pad. It is
    saved as a ``PreTrainedTokenizerFast`` with ``save_pretrained(out_dir)``.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if not isinstance(vocab_size, int) or vocab_size < _BYTE_ALPHABET_SIZE + 2:
        raise LadderError(
            f"vocab_size={vocab_size!r} too small: need > {_BYTE_ALPHABET_SIZE + 1} "
            f"(256 byte tokens + {EOS_TOKEN} + at least one merge)"
        )
    texts = _read_texts(corpus)

    tokenizer = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=[EOS_TOKEN],  # first special token -> id 0
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(_batches(texts, _TOKENIZE_BATCH_DOCS), trainer=trainer, length=len(texts))
    if tokenizer.token_to_id(EOS_TOKEN) != EOS_ID:  # pragma: no cover - guaranteed by the trainer
        raise LadderError(f"{EOS_TOKEN} did not get id {EOS_ID}")

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        add_bos_token=False,
        add_eos_token=False,
        clean_up_tokenization_spaces=False,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out_dir))


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_raw_tokenizer(tokenizer_dir: Path):
    from tokenizers import Tokenizer

    path = Path(tokenizer_dir) / "tokenizer.json"
    if not path.is_file():
        raise LadderError(f"no tokenizer.json in {tokenizer_dir} (run train_tokenizer first)")
    tokenizer = Tokenizer.from_file(str(path))
    if tokenizer.token_to_id(EOS_TOKEN) != EOS_ID:
        raise LadderError(f"tokenizer in {tokenizer_dir} does not map {EOS_TOKEN} to id {EOS_ID}")
    return tokenizer


def tokenize_corpus(corpus: Path, tokenizer_dir: Path, out_path: Path) -> int:
    """Tokenize ``corpus`` into one token stream saved as ``.npy``; return its length.

    The stream is every document's ids followed by the eos id 0, concatenated in
    corpus order (empty documents contribute just the eos). The dtype is ``uint16``
    when the vocabulary fits, else ``uint32``. The file is written atomically.
    """
    texts = _read_texts(corpus)
    tokenizer = _load_raw_tokenizer(tokenizer_dir)
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    dtype = np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32

    pieces: list[np.ndarray] = []
    eos = np.array([EOS_ID], dtype=dtype)
    for batch in _batches(texts, _TOKENIZE_BATCH_DOCS):
        for encoding in tokenizer.encode_batch(batch, add_special_tokens=False):
            pieces.append(np.asarray(encoding.ids, dtype=dtype))
            pieces.append(eos)
    stream = np.concatenate(pieces)

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_path)
    tmp = out_path.with_name(f".{out_path.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as fh:  # a file handle: np.save must not append ".npy"
            np.save(fh, stream, allow_pickle=False)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return int(stream.size)


# ------------------------------------------------------------------------- model


def build_config(spec: LadderModelSpec, vocab_size: int, context_length: int):
    """The ``transformers.GPTNeoXConfig`` of one rung (Pythia architecture).

    Parallel attention + MLP residual, rotary embeddings on 25% of each head
    (theta 10000), GeLU MLP of width ``d_mlp``, LayerNorm eps 1e-5, untied input and
    output embeddings, no dropout, bos/eos id 0, ``max_position_embeddings =
    context_length``.
    """
    from transformers import GPTNeoXConfig

    spec.validate()
    if not isinstance(vocab_size, int) or vocab_size < 2:
        raise LadderError(f"bad vocab_size={vocab_size!r}")
    if not isinstance(context_length, int) or context_length < 2:
        raise LadderError(f"bad context_length={context_length!r}")
    # transformers 5 replaced ``rotary_pct`` / ``rotary_emb_base`` with ``rope_parameters``.
    return GPTNeoXConfig(
        vocab_size=vocab_size,
        hidden_size=spec.d_model,
        num_hidden_layers=spec.n_layers,
        num_attention_heads=spec.n_heads,
        intermediate_size=spec.mlp_width,
        hidden_act="gelu",
        attention_dropout=0.0,
        hidden_dropout=0.0,
        max_position_embeddings=context_length,
        initializer_range=0.02,
        layer_norm_eps=1e-5,
        use_cache=True,
        bos_token_id=EOS_ID,
        eos_token_id=EOS_ID,
        tie_word_embeddings=False,
        use_parallel_residual=True,
        attention_bias=True,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": _ROPE_THETA,
            "partial_rotary_factor": _ROTARY_PCT,
        },
    )


def _load_stream(token_stream: Path) -> np.ndarray:
    token_stream = Path(token_stream)
    if not token_stream.is_file():
        raise LadderError(f"token stream {token_stream} does not exist (run tokenize_corpus first)")
    stream = np.load(token_stream, mmap_mode="r", allow_pickle=False)
    if stream.ndim != 1 or stream.dtype.kind != "u":
        raise LadderError(f"token stream {token_stream} must be a 1-D unsigned int array, got {stream.dtype}{stream.shape}")
    return stream


def window_order(training: TrainingSpec) -> np.ndarray:
    """Order in which the training windows are visited (model-independent).

    The budget covers windows ``0 .. steps*batch_size - 1`` (window ``k`` is
    ``stream[k*context_length : (k+1)*context_length]``, i.e. the first
    ``tokens_seen`` tokens of the stream, each seen exactly once). They are visited
    in a fixed permutation that depends only on ``training.seed`` and the number of
    windows, so every rung sees the same batches in the same order, and a corpus
    whose documents are grouped by source does not become a curriculum.
    """
    n_windows = training.steps * training.batch_size
    return np.random.default_rng(training.seed).permutation(n_windows)


def _lr_factor(step: int, steps: int, warmup_steps: int) -> float:
    """Linear warmup to 1, then cosine decay to 0.1 at the last step."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = steps - warmup_steps
    if decay_steps <= 1:
        return 1.0
    progress = (step - warmup_steps) / (decay_steps - 1)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))


def _pythia_init(model, spec: LadderModelSpec) -> None:
    """Re-initialise weights as GPT-NeoX/Pythia did (in place, in a fixed order).

    ``small_init`` (normal, std ``sqrt(2 / (5 d_model))``) for the embeddings,
    unembedding and input projections; ``wang_init`` (std ``2 / (n_layers sqrt(d_model))``)
    for the two projections that write into the residual stream; zero biases; unit
    LayerNorm gains. HF's default (std 0.02 everywhere) is far too small for tiny widths.
    """
    import torch

    small = math.sqrt(2.0 / (5.0 * spec.d_model))
    wang = 2.0 / (spec.n_layers * math.sqrt(spec.d_model))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("layernorm.weight") or name.endswith("layer_norm.weight"):
                param.fill_(1.0)
            elif name.endswith(".bias"):
                param.zero_()
            elif name.endswith("attention.dense.weight") or name.endswith("mlp.dense_4h_to_h.weight"):
                param.normal_(0.0, wang)
            else:
                param.normal_(0.0, small)


def _count_parameters(model) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    embedding = model.get_input_embeddings().weight.numel() + model.get_output_embeddings().weight.numel()
    return total, total - embedding


def train_model(
    spec: LadderModelSpec,
    training: TrainingSpec,
    tokenizer_dir: Path,
    token_stream: Path,
    out_dir: Path,
    threads: int = 1,
) -> TrainingReport:
    """Train one rung on ``token_stream`` and save it to ``out_dir``.

    Weights are drawn after ``torch.manual_seed(training.seed)`` with Pythia's
    initialisation (``small_init`` / ``wang_init``, see :func:`_pythia_init`). Each step is
    ``batch_size`` non-overlapping ``context_length``-token windows of the stream,
    visited in the model-independent order of :func:`window_order`; the loss is the
    mean next-token cross-entropy within each window; AdamW (betas 0.9/0.95, weight
    decay on matrices only, grad-norm clip 1.0) with linear warmup + cosine decay.
    Runs with ``torch.set_num_threads(threads)``; bit-for-bit reproducible on CPU for
    a fixed ``threads``.

    ``out_dir`` receives the model (``save_pretrained``, safetensors), the tokenizer
    files and ``training.json``. Training happens in a temporary sibling directory
    that is renamed to ``out_dir`` only when everything is written, so an
    interrupted or failed run leaves no ``out_dir`` behind. An existing ``out_dir`` is
    replaced.
    """
    import torch
    import torch.nn.functional as F
    from transformers import GPTNeoXForCausalLM

    start = time.perf_counter()
    spec.validate()
    training.validate()
    if not isinstance(threads, int) or threads < 1:
        raise LadderError(f"threads={threads!r} must be a positive int")

    vocab_size = _load_raw_tokenizer(tokenizer_dir).get_vocab_size(with_added_tokens=True)
    stream = _load_stream(token_stream)
    if stream.size < training.tokens:
        raise LadderError(
            f"token stream {token_stream} is too small for the training budget: it has {stream.size:,} tokens "
            f"but TrainingSpec.tokens={training.tokens:,} are needed "
            f"({training.steps} steps x {training.batch_size} x {training.context_length}); "
            f"use a larger corpus or a smaller token budget"
        )

    max_id = int(stream[: training.steps * training.tokens_per_step].max())
    if max_id >= vocab_size:
        raise LadderError(
            f"token stream {token_stream} contains id {max_id} but the tokenizer in {tokenizer_dir} "
            f"has only {vocab_size} tokens (stream made with another tokenizer?)"
        )
    config = build_config(spec, vocab_size, training.context_length)

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_dir)
    tmp_dir = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex}")
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        tmp_dir.mkdir()
        torch.manual_seed(training.seed)
        model = GPTNeoXForCausalLM._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
        _pythia_init(model, spec)
        model.train()
        parameters, non_embedding = _count_parameters(model)

        decay = [p for p in model.parameters() if p.ndim >= 2]
        no_decay = [p for p in model.parameters() if p.ndim < 2]
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": training.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=training.learning_rate,
            betas=(0.9, 0.95),
            eps=1e-8,
        )
        steps = training.steps
        warmup_steps = max(1, round(training.warmup_fraction * steps)) if training.warmup_fraction > 0 else 0
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: _lr_factor(s, steps, warmup_steps)
        )

        L, B = training.context_length, training.batch_size
        windows = np.asarray(stream[: steps * B * L], dtype=np.int64).reshape(steps * B, L)
        order = window_order(training)
        losses: list[float] = []
        for step in range(steps):
            batch = torch.from_numpy(windows[order[step * B : (step + 1) * B]])
            # targets = next token; the last position of each window has none (ignored),
            # which avoids copying a [B, L-1, vocab] slice of the logits
            targets = torch.full_like(batch, -100)
            targets[:, :-1] = batch[:, 1:]
            logits = model(input_ids=batch, use_cache=False).logits
            loss = F.cross_entropy(logits.view(-1, vocab_size), targets.view(-1), ignore_index=-100)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise LadderError(f"{spec.name}: loss became {value} at step {step} (learning rate too high?)")
            losses.append(value)

        tail = max(1, math.ceil(0.05 * steps))
        model.eval()
        with _quiet_progress_bars():
            model.save_pretrained(str(tmp_dir))
        _copy_tokenizer(Path(tokenizer_dir), tmp_dir, model_max_length=training.context_length)
        report = TrainingReport(
            name=spec.name,
            parameters=parameters,
            non_embedding_parameters=non_embedding,
            tokens_seen=steps * B * L,
            steps=steps,
            final_loss=float(np.mean(losses[-tail:])),
            seconds=round(time.perf_counter() - start, 3),
            d_model=spec.d_model,
            n_layers=spec.n_layers,
            d_mlp=spec.mlp_width,
        )
        (tmp_dir / "training.json").write_text(report.to_json())
        _replace_dir(tmp_dir, out_dir)
    finally:
        torch.set_num_threads(old_threads)
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return report


def remove_stale_temps(out_path: Path) -> list[Path]:
    """Remove the ``.{name}.tmp-<uuid>`` files and directories a killed run for ``out_path``
    left beside it (a kill skips the ``finally`` that removes them); returns what was removed.
    Safe because Snakemake never runs two jobs for one output at once."""
    out_path = Path(out_path)
    stale = sorted(out_path.parent.glob(f".{out_path.name}.tmp-*"))
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def _copy_tokenizer(src: Path, dst: Path, model_max_length: int) -> None:
    """Copy the tokenizer files, setting ``model_max_length`` to the context length.

    (Copying rather than ``from_pretrained`` + ``save_pretrained``: transformers 5 would
    add loading-time keys such as ``local_files_only`` to ``tokenizer_config.json``.)
    """
    for name in _TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    config_path = dst / "tokenizer_config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    config["model_max_length"] = model_max_length
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """Silence transformers' tqdm bars (v5 shows one per save_pretrained) temporarily."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _replace_dir(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, replacing an existing ``dst`` directory."""
    if dst.exists() or dst.is_symlink():
        trash = dst.with_name(f".{dst.name}.old-{uuid.uuid4().hex}")
        os.replace(dst, trash)
        try:
            os.replace(src, dst)
        except BaseException:
            os.replace(trash, dst)
            raise
        if trash.is_dir() and not trash.is_symlink():
            shutil.rmtree(trash, ignore_errors=True)
        else:
            trash.unlink(missing_ok=True)
    else:
        os.replace(src, dst)


def read_report(out_dir: Path) -> TrainingReport:
    """Load ``<out_dir>/training.json`` written by :func:`train_model`."""
    path = Path(out_dir) / "training.json"
    if not path.is_file():
        raise LadderError(f"no training.json in {out_dir}")
    return TrainingReport.from_json(path.read_text())

