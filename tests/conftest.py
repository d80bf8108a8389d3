"""Shared fixtures: offline environment and tiny local models/datasets built in tmp dirs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer GPT-NeoX (Pythia architecture) with a byte-level BPE
    tokenizer trained on a few sentences, saved as an ordinary HF directory."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("tiny_model")
    texts = [
        "The high school is near the living room of the city.",
        "Le lycée est près de la salle de séjour.",
        "Die Schule ist in der Nähe des Wohnzimmers.",
    ] * 20
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
        unk_token="<|endoftext|>", pad_token="<|endoftext|>",
    )
    torch.manual_seed(0)
    config = GPTNeoXConfig(
        vocab_size=512, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, rotary_pct=0.25,
        use_parallel_residual=True, hidden_act="gelu", bos_token_id=0, eos_token_id=0,
        tie_word_embeddings=False,
    )
    GPTNeoXForCausalLM(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """A working copy of the workflow with the tiny config (tests/workflow_fixture.py)."""
    from workflow_fixture import make_workdir

    return make_workdir(tmp_path_factory.mktemp("workflow"))


@pytest.fixture(scope="session")
def completed(workdir: Path) -> Path:
    """The tiny workflow run once per session: tests/test_report.py reads it first (it only adds
    report.html), then tests/test_workflow.py plans, re-runs and extends it."""
    from workflow_fixture import snakemake

    snakemake(workdir)
    return workdir
