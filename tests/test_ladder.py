"""Tests for sparseprobe.models.ladder (tiny corpus, tiny models; CPU, offline)."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sparseprobe.models.ladder import (
    DEFAULT_LADDER,
    DEFAULT_TRAINING,
    EOS_ID,
    LadderError,
    LadderModelSpec,
    TrainingReport,
    TrainingSpec,
    build_config,
    read_report,
    tokenize_corpus,
    train_model,
    train_tokenizer,
    window_order,
)

VOCAB = 300
_WORDS = (
    "the cat sat on a mat while dogs ran past quickly and birds sang songs about rivers "
    "mountains und Katzen schliefen auf dem Sofa el perro corre por la calle 東京 € 42"
).split()

TINY = LadderModelSpec("tiny", d_model=16, n_layers=2, n_heads=2)
TINY_TRAINING = TrainingSpec(context_length=16, tokens=16 * 4 * 6, batch_size=4, learning_rate=1e-2, seed=3)


def _documents(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n):
        k = int(rng.integers(3, 30))
        docs.append(" ".join(_WORDS[i] for i in rng.integers(0, len(_WORDS), size=k)))
    return docs


def _write_corpus(path: Path, docs: list[str | None]) -> Path:
    pq.write_table(pa.table({"text": pa.array(docs, type=pa.string()), "id": list(range(len(docs)))}), path)
    return path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ladder")
    corpus = _write_corpus(root / "corpus.parquet", _documents(300))
    tok = root / "tok"
    train_tokenizer(corpus, tok, VOCAB)
    stream = root / "stream.npy"
    n = tokenize_corpus(corpus, tok, stream)
    return {"root": root, "corpus": corpus, "tok": tok, "stream": stream, "n": n}


# ------------------------------------------------------------------- tokenizer


def test_tokenizer_is_deterministic_and_pythia_like(prepared, tmp_path):
    again = tmp_path / "tok2"
    train_tokenizer(prepared["corpus"], again, VOCAB)
    assert (again / "tokenizer.json").read_bytes() == (prepared["tok"] / "tokenizer.json").read_bytes()

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(prepared["tok"]))
    assert len(tok) == VOCAB
    assert tok.convert_tokens_to_ids("<|endoftext|>") == EOS_ID
    assert tok.bos_token_id == tok.eos_token_id == tok.unk_token_id == tok.pad_token_id == EOS_ID
    text = "the cat sat on 東京 € 42 — ünïcödé"
    ids = tok(text)["input_ids"]
    assert EOS_ID not in ids  # no special tokens added
    assert tok.decode(ids) == text  # byte-level: lossless, even for unseen characters
    spec = json.loads((prepared["tok"] / "tokenizer.json").read_text())
    assert spec["pre_tokenizer"] == {
        "type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True
    }
    assert spec["model"]["type"] == "BPE"


@pytest.mark.parametrize(
    "table, message",
    [
        (pa.table({"body": ["hello"]}), "no 'text' column"),
        (pa.table({"text": pa.array([], type=pa.string())}), "is empty"),
        (pa.table({"text": ["", None]}), "is empty"),
    ],
)
def test_tokenizer_rejects_bad_corpus(tmp_path, table, message):
    corpus = tmp_path / "bad.parquet"
    pq.write_table(table, corpus)
    with pytest.raises(LadderError, match=message) as info:
        train_tokenizer(corpus, tmp_path / "tok", VOCAB)
    assert str(corpus) in str(info.value)


def test_tokenizer_rejects_tiny_vocab(prepared, tmp_path):
    with pytest.raises(LadderError, match="vocab_size"):
        train_tokenizer(prepared["corpus"], tmp_path / "tok", 200)


# ---------------------------------------------------------------------- stream


def test_stream_layout(prepared, tmp_path):
    from tokenizers import Tokenizer

    docs = ["the cat sat", "", "dogs ran past quickly", "東京 €"]
    corpus = _write_corpus(tmp_path / "small.parquet", docs)
    out = tmp_path / "s.npy"
    n = tokenize_corpus(corpus, prepared["tok"], out)
    stream = np.load(out)
    assert stream.dtype == np.uint16 and stream.ndim == 1 and stream.size == n

    raw = Tokenizer.from_file(str(prepared["tok"] / "tokenizer.json"))
    expected: list[int] = []
    for doc in docs:
        expected += raw.encode(doc, add_special_tokens=False).ids + [EOS_ID]
    assert stream.tolist() == expected
    assert int((stream == EOS_ID).sum()) == len(docs)  # exactly one eos per document, incl. the empty one
    assert stream[-1] == EOS_ID

    assert prepared["n"] == np.load(prepared["stream"]).size
    assert int((np.load(prepared["stream"]) == EOS_ID).sum()) == 300


# ----------------------------------------------------------------------- config


def test_build_config_is_pythia_architecture():
    cfg = build_config(LadderModelSpec("x", 32, 2, 2), vocab_size=VOCAB, context_length=64)
    assert cfg.model_type == "gpt_neox"
    assert cfg.use_parallel_residual is True
    assert cfg.rope_parameters["partial_rotary_factor"] == 0.25
    assert cfg.hidden_act == "gelu" and cfg.layer_norm_eps == 1e-5
    assert cfg.tie_word_embeddings is False
    assert cfg.bos_token_id == cfg.eos_token_id == 0
    assert cfg.max_position_embeddings == 64
    assert cfg.intermediate_size == 128
    assert build_config(LadderModelSpec("x", 32, 2, 2, d_mlp=40), VOCAB, 64).intermediate_size == 40


@pytest.mark.parametrize(
    "spec, message",
    [
        (LadderModelSpec("x", 30, 1, 4), "not divisible"),
        (LadderModelSpec("x", 24, 1, 2), "multiple of 8"),
        (LadderModelSpec("x", 16, 0, 2), "n_layers"),
        (LadderModelSpec("a/b", 16, 1, 2), "name"),
    ],
)
def test_bad_spec(spec, message):
    with pytest.raises(LadderError, match=message):
        build_config(spec, VOCAB, 16)


def test_default_ladder_is_valid_and_growing():
    assert len(DEFAULT_LADDER) == 7
    for spec in DEFAULT_LADDER:
        spec.validate()
    widths = [s.d_model for s in DEFAULT_LADDER]
    depths = [s.n_layers for s in DEFAULT_LADDER]
    assert widths == sorted(set(widths)) and depths == sorted(depths)
    DEFAULT_TRAINING.validate()


# --------------------------------------------------------------------- training


def test_training_is_deterministic_and_saves_a_loadable_model(prepared, tmp_path):
    a = train_model(TINY, TINY_TRAINING, prepared["tok"], prepared["stream"], tmp_path / "a")
    b = train_model(TINY, TINY_TRAINING, prepared["tok"], prepared["stream"], tmp_path / "b")
    assert a.final_loss == b.final_loss  # bit-for-bit
    assert a.steps == TINY_TRAINING.steps == 6
    assert a.tokens_seen == 6 * 4 * 16
    assert a.d_mlp == 64 and a.d_model == 16 and a.n_layers == 2
    assert a.parameters - a.non_embedding_parameters == 2 * VOCAB * 16
    assert 0 < a.final_loss < np.log(VOCAB) + 1

    out = tmp_path / "a"
    assert read_report(out) == a
    assert TrainingReport.from_json(a.to_json()) == a
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert json.loads((out / "tokenizer_config.json").read_text())["model_max_length"] == 16
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left
    sa = (tmp_path / "a" / "model.safetensors").read_bytes()
    assert sa == (tmp_path / "b" / "model.safetensors").read_bytes()

    # a different seed gives a different model, but the same batches (order is model-independent)
    c = train_model(TINY, TrainingSpec(**{**TINY_TRAINING.__dict__, "seed": 4}), prepared["tok"],
                    prepared["stream"], tmp_path / "c")
    assert c.final_loss != a.final_loss

    # retraining replaces an existing output directory
    train_model(TINY, TINY_TRAINING, prepared["tok"], prepared["stream"], tmp_path / "a")
    assert read_report(tmp_path / "a").final_loss == a.final_loss


def test_checkpoints_are_saved_without_changing_the_final_model(prepared, tmp_path):
    plain = train_model(TINY, TINY_TRAINING, prepared["tok"], prepared["stream"], tmp_path / "a")
    with_checkpoints = TrainingSpec(**{**TINY_TRAINING.__dict__, "checkpoint_steps": (2, 4)})
    saved = train_model(TINY, with_checkpoints, prepared["tok"], prepared["stream"], tmp_path / "b")
    assert saved.final_loss == plain.final_loss
    final = (tmp_path / "b" / "model.safetensors").read_bytes()
    assert final == (tmp_path / "a" / "model.safetensors").read_bytes()
    step2 = tmp_path / "b" / "checkpoints" / "step2"
    report = read_report(step2)
    assert (report.steps, report.tokens_seen) == (2, 2 * 4 * 16)
    assert (step2 / "tokenizer.json").is_file()
    assert (step2 / "model.safetensors").read_bytes() != final
    assert sorted(p.name for p in (tmp_path / "b" / "checkpoints").iterdir()) == ["step2", "step4"]


def test_window_order_depends_only_on_stream_settings():
    order = window_order(TINY_TRAINING)
    assert sorted(order.tolist()) == list(range(TINY_TRAINING.steps * TINY_TRAINING.batch_size))
    assert np.array_equal(order, window_order(TINY_TRAINING))


def test_transformer_bridge_loads_saved_model(prepared, tmp_path):
    import torch
    from transformer_lens.model_bridge import TransformerBridge

    spec = LadderModelSpec("bridge", d_model=16, n_layers=2, n_heads=2, d_mlp=48)
    training = TrainingSpec(context_length=16, tokens=16 * 2 * 2, batch_size=2, seed=0)
    out = tmp_path / "bridge"
    train_model(spec, training, prepared["tok"], prepared["stream"], out)

    bridge = TransformerBridge.boot_transformers(str(out), device="cpu", dtype=torch.float32)
    tokens = torch.tensor(np.load(prepared["stream"])[:2 * 10].astype(np.int64).reshape(2, 10))
    logits, cache = bridge.run_with_cache(tokens, names_filter=lambda n: n.endswith("mlp.hook_post"))
    assert tuple(logits.shape) == (2, 10, VOCAB)
    for layer in range(spec.n_layers):
        assert tuple(cache[f"blocks.{layer}.mlp.hook_post"].shape) == (2, 10, 48)

    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(str(out))
    with torch.no_grad():
        torch.testing.assert_close(hf(tokens).logits, logits, atol=1e-4, rtol=1e-4)


def test_too_small_stream_is_an_error(prepared, tmp_path):
    n = prepared["n"]
    training = TrainingSpec(context_length=16, tokens=n + 1000, batch_size=4)
    out = tmp_path / "never"
    with pytest.raises(LadderError) as info:
        train_model(TINY, training, prepared["tok"], prepared["stream"], out)
    message = str(info.value)
    assert f"{n:,}" in message and f"{n + 1000:,}" in message
    assert not out.exists()


def test_failed_training_leaves_no_output(prepared, tmp_path, monkeypatch):
    from sparseprobe.models.ladder import training

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(training, "copy_tokenizer", boom)  # fails after the model was saved
    out = tmp_path / "model"
    with pytest.raises(RuntimeError, match="disk full"):
        train_model(TINY, TINY_TRAINING, prepared["tok"], prepared["stream"], out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_training_spec(prepared, tmp_path):
    with pytest.raises(LadderError, match="less than one step"):
        train_model(TINY, TrainingSpec(context_length=16, tokens=10, batch_size=4), prepared["tok"],
                    prepared["stream"], tmp_path / "x")
    with pytest.raises(LadderError, match="token stream"):
        train_model(TINY, TINY_TRAINING, prepared["tok"], tmp_path / "missing.npy", tmp_path / "x")


def test_checkpoint_steps_outside_the_training_are_an_error():
    with pytest.raises(LadderError, match=r"checkpoint_steps \[6\] are not in 1 .. 5"):
        TrainingSpec(**{**TINY_TRAINING.__dict__, "checkpoint_steps": (2, 6)}).validate()
