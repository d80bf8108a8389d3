"""Steps 1 and 2 of the recipe: train the byte-level BPE tokenizer, tokenize the corpus once."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow.parquet as pq

from sparseprobe.models.ladder.files import remove_stale_temps
from sparseprobe.models.ladder.spec import EOS_ID, EOS_TOKEN, LadderError

_BYTE_ALPHABET_SIZE = 256
_TOKENIZE_BATCH_DOCS = 1024


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

    # one special token (Pythia's <|endoftext|>) serves as BOS, EOS, UNK and padding
    specials = {role: EOS_TOKEN for role in ("bos_token", "eos_token", "unk_token", "pad_token")}
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, **specials, add_bos_token=False,
                                   add_eos_token=False, clean_up_tokenization_spaces=False)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out_dir))


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_raw_tokenizer(tokenizer_dir: Path):
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
    tokenizer = load_raw_tokenizer(tokenizer_dir)
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
