"""Throughput of activation extraction, stage by stage, on a Pythia-70M-shaped model.

The model is a randomly initialised GPT-NeoX with pythia-70m's dimensions (6 layers, d_model
512, d_mlp 2048, 8 heads, vocabulary 50,304, rotary on a quarter of each head), built locally
(no hub), with a small byte-level BPE tokenizer (token ids do not change the cost). The
examples are windows of 16 to ``--context`` tokens, of uneven lengths as in the real datasets,
with a mean over a multi-token span. For every compute dtype of the device it measures real
(unpadded) tokens per second of

    (a) forward      the forward pass through the last stored layer's MLP (what any extraction
                     must compute), length-sorted batches, nothing kept
    (b) + hooks      plus a hook on every layer's mlp.hook_post that keeps its tensor
    (c) + reduce     plus the span reduction on the device (the extraction's hooks)
    (d) extract      ``extract_activations`` itself: tokenization, batching, reduction, copy to
                     the host and Zarr writes (float16) - the real path
    old: cache       for reference, the pass the extraction used to make: ``run_with_cache`` of
                     every layer, which also ran the unembedding

each as a ratio to (a) (stages interleaved, best of ``--rounds`` passes), with the FLOP rate (2 x non-embedding parameters per token) and, on a
GPU from the table in sparseprobe.models.hardware, the fraction of its dense bf16 peak.

    python benchmarks/extraction_throughput.py [--device auto] [--examples N] [--context 128]
        [--batch-size auto] [--dtypes float32,bfloat16] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import polars as pl  # noqa: E402
import torch  # noqa: E402

from sparseprobe.activations import extraction as acts  # noqa: E402
from sparseprobe.config import ModelSpec  # noqa: E402
from sparseprobe.datasets import write_feature_dataset  # noqa: E402
from sparseprobe.models.hardware import device_name, peak_bf16_tflops  # noqa: E402
from sparseprobe.models.loading import load_model, pick_device  # noqa: E402

PYTHIA_70M = dict(vocab_size=50304, hidden_size=512, num_hidden_layers=6, num_attention_heads=8,
                  intermediate_size=2048, max_position_embeddings=2048, rotary_pct=0.25,
                  use_parallel_residual=True, hidden_act="gelu", tie_word_embeddings=False,
                  bos_token_id=0, eos_token_id=0)
WORDS = ("the of and to in is was for on that with as by at from his her an were are which "
         "this be or has had not but first one their its new after who they have two been "
         "school city river language neuron probe layer feature model token").split()


def build_model(root: Path) -> Path:
    """Save the random pythia-70m-shaped model and a byte-level BPE tokenizer to ``root``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([" ".join(WORDS)] * 50, trainer)
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>",
                            eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                            unk_token="<|endoftext|>").save_pretrained(root)
    torch.manual_seed(0)
    GPTNeoXForCausalLM(GPTNeoXConfig(**PYTHIA_70M)).save_pretrained(root)
    return root


def build_dataset(root: Path, examples: int, context: int):
    """Texts of uneven length (about 16 to ``context`` tokens), span = the last three words."""
    rng = random.Random(0)
    texts, starts = [], []
    for _ in range(examples):
        words = [rng.choice(WORDS) for _ in range(rng.randint(12, max(13, int(context * 0.9))))]
        text = " ".join(words)
        texts.append(text)
        starts.append(len(" ".join(words[:-3])) + 1)
    n = len(texts)
    frame = pl.DataFrame({
        "example_id": list(range(n)), "document_id": [str(i) for i in range(n)], "text": texts,
        "span_start": starts, "span_end": [len(t) for t in texts], "stratum": ["a"] * n,
        "split": [("train", "test")[i % 2] for i in range(n)],
    })
    labels = pl.DataFrame({"feature": ["f"] * n, "example_id": list(range(n)),
                           "label": [(i // 2) % 2 == 0 for i in range(n)]})
    return write_feature_dataset(root / "dataset", name="bench", category="toy",
                                 aggregation="mean", examples=frame, labels=labels, meta={})


def batches(model, dataset, context: int, batch_size: int):
    """The padded batches the extraction runs: length-sorted inside each block."""
    ex = dataset.examples
    block = acts.tokenize_examples(model.tokenizer, ex["text"].to_list(),
                                   ex["span_start"].to_list(), ex["span_end"].to_list(),
                                   context, model.tokenizer.bos_token_id)
    order = acts.length_order(block)
    device = torch.device(model.device)
    out = []
    for start in range(0, len(order), batch_size):
        chunk = [block[i] for i in order[start:start + batch_size]]
        out.append(tuple(acts.to_device(t, device)
                         for t in acts.pad_batch(chunk, model.tokenizer.pad_token_id)))
    return out, sum(len(b.ids) for b in block)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class _Stop(Exception):
    pass


def timed(model, run_batch, work) -> float:
    """Seconds to run every batch once (after one warm-up batch)."""
    with torch.inference_mode():
        run_batch(*work[0])
        sync(model.device)
        started = time.perf_counter()
        for batch in work:
            run_batch(*batch)
        sync(model.device)
    return time.perf_counter() - started


def stage_runners(model, dataset, context: int, batch_size: int, store: Path) -> dict:
    """Each stage as a function returning real tokens/s of one pass over the dataset."""
    last = model.n_layers - 1
    names = [f"blocks.{layer}.mlp.hook_post" for layer in range(model.n_layers)]
    bridge = model.bridge
    work, tokens = batches(model, dataset, context, batch_size)
    kept = {}

    def stop(t, hook):
        raise _Stop

    def keep(t, hook):
        kept[hook.name] = t

    def forward(ids, attention, mask):
        try:
            bridge(ids, attention_mask=attention, return_type=None)
        except _Stop:
            pass

    def with_hooks(hooks, run_batch):
        def run():
            with bridge.hooks(fwd_hooks=hooks):
                return tokens / timed(model, run_batch, work)
        return run

    reducer = acts.SpanReducer(list(range(model.n_layers)), "mlp.hook_post", dataset.aggregation)

    def cached(ids, attention, mask):
        _, cache = bridge.run_with_cache(ids, attention_mask=attention,
                                         names_filter=lambda n: n in names,
                                         stop_at_layer=model.n_layers)
        return [acts.aggregate(cache[n].float(), mask, dataset.aggregation).cpu() for n in names]

    def extract():
        settings = acts.ExtractionSettings(context_tokens=context, batch_size=batch_size)
        return acts.extract_activations(model, dataset, store, settings).tokens_per_second

    return {
        "(a) forward": with_hooks([(names[last], stop)], forward),
        "(b) + hooks": with_hooks([(n, keep) for n in names] + [(names[last], stop)], forward),
        "(c) + reduce": with_hooks(reducer.hooks(), lambda ids, attention, mask:
                                   reducer.run(bridge, ids, attention, mask)),
        "(d) extract": extract,
        "old: cache": with_hooks([], cached),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--examples", type=int, default=None,
                        help="default: 64 on a CPU, 32768 on a GPU")
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the auto rule")
    parser.add_argument("--rounds", type=int, default=2, help="best of this many passes")
    parser.add_argument("--dtypes", default=None,
                        help="comma-separated; default: float32,bfloat16 (+float16 on a GPU)")
    args = parser.parse_args()
    device = pick_device(args.device)
    gpu = device.startswith("cuda")
    examples = args.examples or (32768 if gpu else 64)
    dtypes = (args.dtypes or ("float32,bfloat16,float16" if gpu else "float32,bfloat16")).split(",")
    name = device_name(device)
    peak = peak_bf16_tflops(name) if gpu else None
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = build_model(root / "model")
        dataset = build_dataset(root, examples, args.context)
        print(f"# {name}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
              f"pythia-70m shape (random init), {examples} examples of <= {args.context} tokens",
              flush=True)
        print(f"{'dtype':9s} {'stage':13s} {'batch':>5s} {'tokens/s':>10s} {'vs (a)':>7s} "
              f"{'GFLOP/s':>9s} {'% peak':>7s}")
        for dtype in dtypes:
            spec = ModelSpec(name="pythia-70m-shape", family="bench", source_kind="local",
                             source=str(source), n_layers=6, d_mlp=2048, dtype=dtype)
            model = load_model(spec, device=device)
            batch_size = args.batch_size or acts.auto_batch_size(
                model, args.context, model.n_layers, "float16")
            flops = model.shape.flops_per_token(model.n_layers)
            runners = stage_runners(model, dataset, args.context, batch_size, root / "acts")
            rates = dict.fromkeys(runners, 0.0)
            for _ in range(args.rounds):  # stages interleaved, best round kept: load drifts
                for stage, run in runners.items():
                    rates[stage] = max(rates[stage], run())
            base = rates["(a) forward"]
            for stage, rate in rates.items():
                gflops = rate * flops / 1e9
                share = f"{gflops / (peak * 1e3):7.2%}" if peak else f"{'-':>7s}"
                print(f"{dtype:9s} {stage:13s} {batch_size:5d} {rate:10,.0f} "
                      f"{rate / base:7.2f} {gflops:9,.1f} {share}", flush=True)
            del model, runners
        info = acts.read_store_info(root / "acts")
    print(f"# {time.perf_counter() - began:.0f} s in all; tokens/s count real tokens "
          f"(padding: {1 - info.tokens_processed / info.tokens_padded:.1%} in the extract run)")


if __name__ == "__main__":
    main()
