"""Scale rehearsal: every stage of the Pythia sweep at the real widths, on random weights.

Pythia-shaped GPT-NeoX models with random weights are built locally from the published shapes
(no hub). Two stages are measured, each job in a child process (wall time, peak RSS of that
process from ``resource.getrusage``, bytes it stored):

- ``extract``: 70m, 160m and 410m through the real extraction code
  (``sparseprobe.activations.extraction.extract_activations``) on the CPU, on ``--examples``
  short texts (so it finishes in minutes). The bytes stored per example and the tokens per
  second are then scaled to each dataset of ``config/pythia.yaml``.
- ``probe``: one probe job of one layer at each Pythia width (2,048 ... 16,384 neurons) on
  synthetic activations (GELU of Gaussian noise with planted mean shifts), with every method
  of ``config/full.yaml`` and its 1,000 bootstrap resamples, ``--probe-examples`` examples
  (70/30 split) and ``--features`` features labelling the same examples. With ``--breakdown``
  the 16,384-wide job is also timed method by method.

It then writes the table and the projected cost of the whole ``config/pythia.yaml`` sweep into
the "Scale rehearsal" section of docs/scaleout.md (``--write-doc``). What the projection
assumes (linear scaling in examples and features, a full context window per example, the
FLOP rate measured at 410m for the bigger models, GPU rates from a stated fraction of peak)
is printed with it: the GPU-hours are projections, not measurements.

    nice -n 10 python benchmarks/scale_rehearsal.py [--stages extract probe] [--write-doc]
    python benchmarks/scale_rehearsal.py --write-model DIR [--shape 70m]   # a local model dir
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
# SCALE_REHEARSAL_SRC: another checkout's src/ (e.g. `git archive <commit> src`), to time the
# code before a change with the same script
sys.path.insert(0, os.environ.get("SCALE_REHEARSAL_SRC", str(ROOT / "src")))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

# Published Pythia shapes (hidden size, layers, heads, d_mlp); rotary on a quarter of each head,
# parallel residual, untied embeddings, padded vocabulary 50,304.
SHAPES = {
    "70m": (512, 6, 8, 2048), "160m": (768, 12, 12, 3072), "410m": (1024, 24, 16, 4096),
    "1b": (2048, 16, 8, 8192), "1.4b": (2048, 24, 16, 8192), "2.8b": (2560, 32, 32, 10240),
    "6.9b": (4096, 32, 32, 16384),
}
EXTRACTED = ("70m", "160m", "410m")
GPU_PEAK_FRACTION = 0.3
"""Assumed sustained fraction of an H100's dense bf16 peak (989 TFLOP/s) for the GPU
projection of extraction (none was measured: no GPU was lent to this project)."""
H100_BF16_FLOPS = 989e12
GPU_PROBE_SPEEDUP = 10.0
"""Assumed speed-up of a probe job on one GPU over one CPU core (a projection: the batched
engine runs on torch, the sklearn rankings and OSP do not)."""
DOC_BEGIN = "## Scale rehearsal"


def model_config(shape: str) -> dict:
    hidden, layers, heads, d_mlp = SHAPES[shape]
    return dict(vocab_size=50304, hidden_size=hidden, num_hidden_layers=layers,
                num_attention_heads=heads, intermediate_size=d_mlp, max_position_embeddings=2048,
                rotary_pct=0.25, use_parallel_residual=True, hidden_act="gelu",
                tie_word_embeddings=False, bos_token_id=0, eos_token_id=0)


def write_model(directory: Path, shape: str = "70m") -> Path:
    """Save a randomly initialised (seed 0) Pythia-``shape`` GPT-NeoX and a small byte-level
    BPE tokenizer to ``directory`` (a local model: ``local: DIR`` in a model catalogue)."""
    import torch
    from extraction_throughput import WORDS
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast

    directory = Path(directory)
    if (directory / "config.json").is_file():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([" ".join(WORDS)] * 50, trainer)
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>",
                            eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                            unk_token="<|endoftext|>").save_pretrained(directory)
    torch.manual_seed(0)
    GPTNeoXForCausalLM(GPTNeoXConfig(**model_config(shape))).save_pretrained(directory)
    return directory


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (the shared machine's fair measure: wall time
    there includes waiting for a core)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# --- child jobs: each prints one JSON line ------------------------------------------------

def child_extract(shape: str, work: Path, examples: int, context: int) -> dict:
    from extraction_throughput import build_dataset

    from sparseprobe.activations import extraction as acts
    from sparseprobe.config import ModelSpec
    from sparseprobe.models.loading import load_model

    _, layers, _, d_mlp = SHAPES[shape]
    source = write_model(work / f"model-{shape}", shape)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        dataset = build_dataset(Path(tmp), examples, context)
        spec = ModelSpec(name=f"pythia-{shape}-shape", family="rehearsal", source_kind="local",
                         source=str(source), n_layers=layers, d_mlp=d_mlp, dtype="float32")
        started, cpu = time.perf_counter(), cpu_seconds()
        model = load_model(spec, device="cpu")
        loaded = time.perf_counter()
        info = acts.extract_activations(model, dataset, Path(tmp) / "acts",
                                        acts.ExtractionSettings(context_tokens=context))
        done = time.perf_counter()
        stored = dir_bytes(Path(tmp) / "acts")
    return {"stage": "extract", "shape": shape, "d_mlp": d_mlp, "layers": layers,
            "examples": examples, "load_s": loaded - started, "cpu_s": cpu_seconds() - cpu, "wall_s": done - loaded,
            "tokens": info.tokens_processed, "tokens_per_s": info.tokens_per_second,
            "peak_rss": peak_rss_bytes(), "bytes": stored, "bytes_per_example": stored / examples}


def synthetic_features(examples: int, neurons: int, features: int, seed: int = 0):
    """One layer's activations (float32, as read from a float16 store), generated in row blocks
    (no full-size temporaries), and ``features`` binary features labelling every example (one
    shared train/test pair of arrays, as ``probe_layer`` builds for such a dataset)."""
    from sparseprobe.probing.splits import FeatureData

    rng = np.random.default_rng(seed)
    layer = np.empty((examples, neurons), dtype=np.float32)
    for start in range(0, examples, 512):
        pre = rng.normal(size=(min(512, examples - start), neurons)).astype(np.float32)
        layer[start:start + len(pre)] = pre * 0.5 * (1 + np.tanh(0.79788456 * (
            pre + 0.044715 * pre**3)))
    labels = []
    for f in range(features):
        y = rng.random(examples) < 0.2
        for j in rng.choice(neurons, size=1 + f % 5, replace=False):
            layer[y, j] += rng.uniform(0.3, 1.5)
        labels.append(y)
    cut = int(0.7 * examples)
    x_train, x_test = layer[:cut].copy(), layer[cut:].copy()
    datas = [FeatureData(f"f{f}", x_train, y[:cut], x_test, y[cut:])
             for f, y in enumerate(labels)]
    return layer, datas


def full_settings(optimal_time_limit: float | None):
    """ProbeSettings of ``config/full.yaml`` (its methods and bootstrap) over the defaults."""
    import yaml

    from sparseprobe.probing.sweep import ProbeSettings

    probing = yaml.safe_load((ROOT / "config" / "full.yaml").read_text())["probing"]
    settings = ProbeSettings(methods=tuple(probing["methods"]),
                             bootstrap=int(probing["bootstrap"]))
    if optimal_time_limit is not None:
        settings = replace(settings, optimal_time_limit=optimal_time_limit)
    return settings


def rows_bytes(rows: list[list[dict]]) -> int:
    """Parquet bytes of the result rows (the probe columns; the per-job context columns add a
    few bytes per row)."""
    import io

    import polars as pl

    frame = pl.DataFrame([r for feature in rows for r in feature], infer_schema_length=None)
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getbuffer().nbytes


def child_probe(neurons: int, examples: int, features: int, breakdown: bool,
                optimal_time_limit: float | None, full: bool = True) -> dict:
    from sparseprobe.probing.sweep import sweep_layer

    settings = full_settings(optimal_time_limit)
    layer, datas = synthetic_features(examples, neurons, features)
    out = {"stage": "probe", "d_mlp": neurons, "examples": examples, "features": features,
           "methods": list(settings.methods), "bootstrap": settings.bootstrap,
           "optimal_time_limit": settings.optimal_time_limit,
           "data_bytes": layer.nbytes * 2, "methods_s": {}, "methods_cpu_s": {}}
    if breakdown:
        runs = {m: replace(settings, methods=(m,), dense=False) for m in settings.methods}
        runs["mean_diff, no bootstrap"] = replace(settings, methods=("mean_diff",),
                                                  dense=False, bootstrap=0)
        runs["dense"] = replace(settings, methods=(), k_grid=(), bootstrap=0)
        for name, run in runs.items():
            started, cpu = time.perf_counter(), cpu_seconds()
            sweep_layer(datas, run)
            out["methods_s"][name] = time.perf_counter() - started
            out["methods_cpu_s"][name] = cpu_seconds() - cpu
        out["breakdown_peak_rss"] = peak_rss_bytes()
    if not full:
        return out
    started, cpu = time.perf_counter(), cpu_seconds()
    rows = sweep_layer(datas, settings)
    out["wall_s"] = time.perf_counter() - started
    out["cpu_s"] = cpu_seconds() - cpu
    out["peak_rss"] = peak_rss_bytes()
    out["rows"] = sum(len(r) for r in rows)
    out["bytes"] = rows_bytes(rows)
    return out


def child_pieces(neurons: int, examples: int) -> dict:
    """CPU seconds of the selection steps issue 12 names, for one feature of one layer: the
    mean-difference ranking, mutual information, telescoping, the OSP candidates (top 50 by
    mean difference and their columns), the random-basis rotation of both splits, and the
    bootstrap intervals of the 184 probes a feature gets with config/full.yaml."""
    from sparseprobe.probing import selection
    from sparseprobe.probing.metrics import bootstrap_f1
    from sparseprobe.probing.sweep import PAPER_K_GRID, prepare

    settings = full_settings(None)
    _, datas = synthetic_features(examples, neurons, 1)
    scaled, _, ranking = prepare(datas[0], settings)
    x, y = scaled.x_train, scaled.y_train
    ks = [k for k in PAPER_K_GRID if k <= neurons]
    rng = np.random.default_rng(1)
    preds = [rng.random(len(scaled.y_test)) < 0.2 for _ in range(184)]
    pieces = {
        "mean difference": lambda: selection.mean_difference(x, y),
        "mutual_info": lambda: selection.rank("mutual_info", x, y, 7),
        "telescope": lambda: selection.telescope_supports(x, y, ks),
        "OSP candidates": lambda: x[:, prepare(datas[0], settings)[2][:50]],
        "random_basis rotation": lambda: (
            selection.random_rotation(neurons, 1).apply(datas[0].x_train),
            selection.random_rotation(neurons, 1).apply(datas[0].x_test)),
        "bootstrap x 184": lambda: [bootstrap_f1(scaled.y_test, p, 1000, 5) for p in preds],
    }
    out = {"stage": "pieces", "d_mlp": neurons, "examples": examples, "cpu_s": {}, "wall_s": {}}
    for name, piece in pieces.items():
        started, cpu = time.perf_counter(), cpu_seconds()
        piece()
        out["cpu_s"][name] = cpu_seconds() - cpu
        out["wall_s"][name] = time.perf_counter() - started
    out["peak_rss"] = peak_rss_bytes()
    return out


def run_child(args: list[str]) -> dict:
    """Run this script as a child job and return its JSON line (its own peak RSS)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- projection and the doc table ---------------------------------------------------------

def sweep_plan() -> list[dict]:
    """(model, dataset) pairs of config/pythia.yaml with examples, features, window, layers."""
    import yaml

    from sparseprobe.workflow.resources import ONE_VS_REST_BUILDERS, n_features, planned_examples

    config = yaml.safe_load((ROOT / "config" / "pythia.yaml").read_text())
    plan = []
    for model in config["models"]:
        entry = config["model_catalog"][model]
        for name, dataset in config["datasets"].items():
            examples = planned_examples(dataset)
            features = n_features(dataset)
            shared = dataset["builder"] in ONE_VS_REST_BUILDERS
            plan.append({"model": model, "shape": model.removeprefix("pythia-"),
                         "dataset": name, "examples": examples, "features": features,
                         "rows_per_feature": examples if shared else math.ceil(
                             examples / features),
                         "window": int(dataset.get("context_tokens", 128)),
                         "layers": entry["n_layers"], "d_mlp": entry["d_mlp"]})
    return plan


def flops_per_token(shape: str) -> float:
    hidden, layers, _, d_mlp = SHAPES[shape]
    return 2.0 * layers * (4 * hidden * hidden + 2 * hidden * d_mlp)


def project(extract: list[dict], probe: list[dict]) -> dict:
    """CPU-hours (and projected GPU-hours) per stage for the whole config/pythia.yaml sweep."""
    by_shape = {r["shape"]: r for r in extract}
    biggest = max(extract, key=lambda r: r["d_mlp"])
    cpu_flops = biggest["tokens_per_s"] * flops_per_token(biggest["shape"])
    probe_by_width = {}  # per width the run with the most examples
    for r in sorted(probe, key=lambda r: r["examples"]):
        probe_by_width[r["d_mlp"]] = r
    totals = {"extract_cpu_h": 0.0, "extract_gpu_h": 0.0, "probe_cpu_h": 0.0,
              "probe_gpu_h": 0.0, "store_bytes": 0.0, "probe_job_gib": 0.0}
    for job in sweep_plan():
        tokens = job["examples"] * job["window"]
        measured = by_shape.get(job["shape"])
        rate = measured["tokens_per_s"] if measured else cpu_flops / flops_per_token(
            job["shape"])
        totals["extract_cpu_h"] += tokens / rate / 3600
        totals["extract_gpu_h"] += tokens * flops_per_token(job["shape"]) / (
            GPU_PEAK_FRACTION * H100_BF16_FLOPS) / 3600
        totals["store_bytes"] += job["examples"] * job["layers"] * job["d_mlp"] * 2
        width = probe_by_width.get(job["d_mlp"]) or min(
            probe, key=lambda r: abs(r["d_mlp"] - job["d_mlp"]))
        per_feature_row = width["cpu_s"] / (width["features"] * width["examples"])
        seconds = per_feature_row * job["features"] * job["rows_per_feature"] * job["layers"]
        totals["probe_cpu_h"] += seconds / 3600
        totals["probe_gpu_h"] += seconds / GPU_PROBE_SPEEDUP / 3600
    return totals


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def markdown(extract: list[dict], probe: list[dict], totals: dict, command: str,
             workflow: str | None = None) -> str:
    """The "Scale rehearsal" section; ``workflow``: what the 70m-shaped workflow run measured."""
    lines = [
        DOC_BEGIN,
        "Measured by `benchmarks/scale_rehearsal.py` (random-weight Pythia shapes built locally, "
        "each job in a child process; peak RSS from `getrusage`), on the shared 2-core CPU "
        f"machine, under `nice`: `{command}`.",
        "",
        "| stage | shape | d_mlp | examples (features) | wall | peak RSS | bytes stored | per example |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in extract:
        lines.append(
            f"| extract (CPU, float32) | pythia-{r['shape']} | {r['d_mlp']:,} | "
            f"{r['examples']} | {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} CPU-s with loading "
            f"({r['tokens_per_s']:,.0f} tok/s; load "
            f"{r['load_s']:.1f} s) | {gib(r['peak_rss'])} | {r['bytes'] / 2**20:.1f} MiB | "
            f"{r['bytes_per_example'] / 1024:.1f} KiB |")
    for r in probe:
        shape = next((s for s, v in SHAPES.items() if v[3] == r["d_mlp"]), "?")
        lines.append(
            f"| probe (one layer, every full.yaml method, bootstrap {r['bootstrap']}) | "
            f"pythia-{shape} | {r['d_mlp']:,} | {r['examples']:,} ({r['features']}) | "
            f"{r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} CPU-s | {gib(r['peak_rss'])} | "
            f"{r['bytes'] / 1024:.0f} KiB "
            f"({r['rows']} rows) | - |")
    breakdown = [r for r in probe if r.get("methods_s")]
    for r in breakdown:
        lines += ["", f"Per method at {r['d_mlp']:,} neurons x {r['examples']:,} examples, "
                  f"{r['features']} feature(s) (seconds, the k grid fitted, bootstrap "
                  f"{r['bootstrap']}; `optimal`/`pruning` at time limit "
                  f"{r['optimal_time_limit']:g} s per solve):", "",
                  "| " + " | ".join(r["methods_s"]) + " |",
                  "|" + "---|" * len(r["methods_s"]),
                  "| " + " | ".join(f"{v:.1f}" for v in r["methods_s"].values()) + " |"]
    lines += [
        "",
        "**A Pythia-70m-shaped model through the real workflow** (random weights, the default "
        "datasets and probing of `config/config.yaml`, `config/pythia70m_shape.yaml`):",
        "",
        "    python benchmarks/scale_rehearsal.py --write-model resources/models/pythia-70m-shape",
        "    nice -n 10 snakemake --cores 1 --configfile config/pythia70m_shape.yaml",
        "",
        workflow or "(not run yet in this file's measurements)",
    ]
    lines += [
        "",
        "Projected cost of the whole `config/pythia.yaml` sweep (7 models x 11 datasets):",
        "",
        "| stage | CPU-hours (1 core) | GPU-hours (one H100, projection) |",
        "|---|---|---|",
        f"| extract_activations | {totals['extract_cpu_h']:,.0f} | "
        f"{totals['extract_gpu_h']:,.1f} |",
        f"| probe_layers | {totals['probe_cpu_h']:,.0f} | {totals['probe_gpu_h']:,.0f} |",
        "",
        f"Activation stores (float16): {totals['store_bytes'] / 2**40:.2f} TiB in all.",
        "",
        "How it is derived (none of it is a GPU measurement: no GPU was lent to this project):",
        "",
        "- extraction CPU: tokens = examples x the dataset's `context_tokens` (an upper bound: "
        "real texts are shorter) at the tokens/s measured above for 70m/160m/410m; 1b..6.9b at "
        "the FLOP rate measured for 410m (2 x non-embedding parameters per token).",
        f"- the extraction runs hold {extract[0]['examples']} short texts ({extract[0]['tokens']} "
        "tokens): their tokens/s is dominated by per-batch overhead, so these CPU-hours are an "
        "upper bound (`benchmarks/extraction_throughput.py` measures throughput on more text).",
        f"- extraction GPU: the same FLOPs at {GPU_PEAK_FRACTION:.0%} of an H100's dense bf16 "
        f"peak ({H100_BF16_FLOPS / 1e12:.0f} TFLOP/s); an assumption, not a rate measured here.",
        "- probes CPU: the measured CPU seconds per (feature x example) of one layer at the nearest "
        "measured width (the run with the most examples; 1,000-example runs carry fixed costs, "
        "so they overstate the per-example cost), `optimal`/`pruning` capped as in the table, "
        "scaled linearly to each dataset's features x rows per feature x "
        "layers (one-vs-rest datasets: every example per feature). The fits are about linear in "
        "examples; `optimal`/`pruning` can cost up to their time limit per solve instead.",
        f"- probes GPU: the CPU figure / {GPU_PROBE_SPEEDUP:g} (assumed; rankings, "
        "telescope and OSP run on the CPU whatever the device).",
    ]
    return "\n".join(lines) + "\n"


def write_doc(text: str, path: Path = ROOT / "docs" / "scaleout.md") -> None:
    """Replace (or append) the "Scale rehearsal" section, leaving every other section alone."""
    doc = path.read_text()
    start = doc.find(DOC_BEGIN + "\n")
    if start < 0:
        path.write_text(doc.rstrip("\n") + "\n\n" + text)
        return
    end = doc.find("\n## ", start + len(DOC_BEGIN))
    path.write_text(doc[:start] + text + ("" if end < 0 else doc[end:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-model", type=Path, help="write a local model directory, exit")
    parser.add_argument("--shape", default="70m", choices=list(SHAPES))
    parser.add_argument("--stages", nargs="*", default=["extract", "probe"])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir())
                        / "sparseprobe-rehearsal", help="model directories are kept here")
    parser.add_argument("--examples", type=int, default=32, help="extraction examples")
    parser.add_argument("--context", type=int, default=64, help="extraction tokens per example")
    parser.add_argument("--shapes", nargs="*", default=list(EXTRACTED))
    parser.add_argument("--widths", type=int, nargs="*",
                        default=sorted({v[3] for v in SHAPES.values()}))
    parser.add_argument("--probe-examples", type=int, default=2000)
    parser.add_argument("--features", type=int, default=1)
    parser.add_argument("--breakdown", type=int, nargs="*", default=[16384],
                        help="widths also timed method by method")
    parser.add_argument("--breakdown-only", action="store_true",
                        help="time the methods one by one, not the whole job (before/after)")
    parser.add_argument("--optimal-time-limit", type=float, default=None,
                        help="default: the config's (60 s per solve)")
    parser.add_argument("--write-doc", action="store_true")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="write the doc section from a saved --json run, measure nothing")
    parser.add_argument("--json", type=Path, default=None, help="also save the measurements")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "pieces":
            out = child_pieces(int(rest[0]), int(rest[1]))
        elif kind == "extract":
            out = child_extract(rest[0], Path(rest[1]), int(rest[2]), int(rest[3]))
        else:
            out = child_probe(int(rest[0]), int(rest[1]), int(rest[2]), rest[3] == "1",
                              None if rest[4] == "none" else float(rest[4]), rest[5] == "1")
        print(json.dumps(out))
        return
    if args.write_model:
        print(write_model(args.write_model, args.shape))
        return
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        command = saved.get("command", "python benchmarks/scale_rehearsal.py")
        text = markdown(saved["extract"], saved["probe"],
                        project(saved["extract"], saved["probe"]), command, saved.get("workflow"))
        write_doc(text)
        print(text)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    extract, probe = [], []
    if "extract" in args.stages:
        for shape in args.shapes:
            extract.append(run_child(["extract", shape, str(args.work), str(args.examples),
                                      str(args.context)]))
            print(json.dumps(extract[-1]), flush=True)
    if "probe" in args.stages:
        limit = "none" if args.optimal_time_limit is None else str(args.optimal_time_limit)
        for width in args.widths:
            probe.append(run_child(["probe", str(width), str(args.probe_examples),
                                    str(args.features), "1" if width in args.breakdown else "0",
                                    limit, "0" if args.breakdown_only else "1"]))
            print(json.dumps(probe[-1]), flush=True)
    if "pieces" in args.stages:
        for width in args.widths:
            print(json.dumps(run_child(["pieces", str(width), str(args.probe_examples)])),
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps({
            "extract": extract, "probe": probe,
            "command": "python benchmarks/scale_rehearsal.py " + " ".join(sys.argv[1:])},
            indent=1))
    print(f"# {time.perf_counter() - began:.0f} s in all")
    if args.write_doc and extract and probe:
        command = "python benchmarks/scale_rehearsal.py " + " ".join(sys.argv[1:])
        text = markdown(extract, probe, project(extract, probe), command)
        write_doc(text)
        print(text)


if __name__ == "__main__":
    main()
