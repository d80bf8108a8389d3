"""Step 3 of the recipe: build one rung's GPT-NeoX config and train it on the shared token stream."""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np

from sparseprobe.progress import Progress
from sparseprobe.models.ladder.files import copy_tokenizer, remove_stale_temps, replace_dir
from sparseprobe.models.ladder.spec import _ROTARY_PCT, EOS_ID, LadderError, LadderModelSpec, TrainingReport, TrainingSpec
from sparseprobe.models.ladder.tokenizer import load_raw_tokenizer

_ROPE_THETA = 10_000.0


_PYTHIA_FIXED = {
    "hidden_act": "gelu", "attention_dropout": 0.0, "hidden_dropout": 0.0,
    "initializer_range": 0.02, "layer_norm_eps": 1e-5, "use_cache": True,
    "bos_token_id": EOS_ID, "eos_token_id": EOS_ID, "tie_word_embeddings": False,
    "use_parallel_residual": True, "attention_bias": True,
}
"""The GPT-NeoX settings every rung shares (Pythia's recipe); a rung sets only its sizes (and
gets a fresh ``rope_parameters`` dict, which the config may complete in place)."""


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
        max_position_embeddings=context_length,
        rope_parameters={"rope_type": "default", "rope_theta": _ROPE_THETA,
                         "partial_rotary_factor": _ROTARY_PCT},
        **_PYTHIA_FIXED,
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
    replaced. After each step N of ``training.checkpoint_steps`` the model is also saved, with the
    tokenizer and its own ``training.json`` (tokens seen so far, the loss over the last 5% of
    its steps), to ``out_dir/checkpoints/step{N}``: saving does not touch the weights, the
    optimizer or the random state, so the final model is the same with or without them.
    """
    import torch
    import torch.nn.functional as F
    from transformers import GPTNeoXForCausalLM

    start = time.perf_counter()
    spec.validate()
    training.validate()
    if not isinstance(threads, int) or threads < 1:
        raise LadderError(f"threads={threads!r} must be a positive int")

    vocab_size = load_raw_tokenizer(tokenizer_dir).get_vocab_size(with_added_tokens=True)
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
        progress = Progress(logging.getLogger(__name__), f"train {spec.name}", steps)
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
            progress.update(step + 1)
            if step + 1 in training.checkpoint_steps:
                _save(model, tmp_dir / "checkpoints" / f"step{step + 1}", tokenizer_dir,
                      _report(spec, training, model, losses, start))

        model.eval()
        report = _report(spec, training, model, losses, start)
        _save(model, tmp_dir, tokenizer_dir, report)
        replace_dir(tmp_dir, out_dir)
    finally:
        torch.set_num_threads(old_threads)
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return report



def _report(spec: LadderModelSpec, training: TrainingSpec, model, losses: list[float],
            start: float) -> TrainingReport:
    """The training report after ``len(losses)`` steps (final loss: the mean over the last 5%
    of them)."""
    parameters, non_embedding = _count_parameters(model)
    tail = max(1, math.ceil(0.05 * len(losses)))
    return TrainingReport(
        name=spec.name, parameters=parameters, non_embedding_parameters=non_embedding,
        tokens_seen=len(losses) * training.tokens_per_step, steps=len(losses),
        final_loss=float(np.mean(losses[-tail:])),
        seconds=round(time.perf_counter() - start, 3),
        d_model=spec.d_model, n_layers=spec.n_layers, d_mlp=spec.mlp_width,
    )


def _save(model, directory: Path, tokenizer_dir: Path, report: TrainingReport) -> None:
    """The model (safetensors), the tokenizer and ``training.json`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    with _quiet_progress_bars():
        model.save_pretrained(str(directory))
    copy_tokenizer(Path(tokenizer_dir), directory, model_max_length=model.config.max_position_embeddings)
    (directory / "training.json").write_text(report.to_json())


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
