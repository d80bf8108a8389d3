"""Neuron ablation: does the model need a feature's best neuron to predict text of that feature?

For each selected (dataset, feature), the neuron table's best single neuron (layer L, neuron n)
is ablated: a forward hook on ``blocks.{L}.mlp.hook_post`` replaces its activation at every
position of every sequence, by 0 (``zero``, the default) or by its mean activation over every
token of the sampled sequences of both classes (``mean``). The model is run with and without
the hook on the same sequences:

- a *sequence* is one example's text from the dataset (``examples.parquet``), tokenized by the
  model's tokenizer, BOS prepended when the model declares ``prepend_bos`` (as in extraction),
  cut to its first ``tokens`` tokens (BOS included; at most the model's context length). It is
  the example's whole text from its start, not the window that extraction reads;
- its *loss* is the sum over the sequence of the next-token cross-entropy in nats
  (-log p(token t+1 | tokens <= t) for every position but the last; ``n_tokens`` terms), the
  quantity behind the paper's "about 7 nats" for ablating the French neuron;
- ``delta`` = loss_ablated - loss_clean.

Sequences come from the test split of the dataset (texts the probe that chose the neuron was not
fitted on): up to ``sequences_per_class`` examples labelled positive for the feature (in class)
and as many labelled negative (out of class), drawn with a seed that depends only on the run's
seed, the dataset and the feature, so every model sees the same texts.

What a loss increase does and does not establish. A delta that is large in class and near zero
out of class says the model *needs* this neuron (as it is) to predict that text: it is evidence
of necessity, specific to the feature. It does not show sufficiency (the neuron alone does not
produce the predictions), that the neuron encodes the feature rather than something correlated
with it in these texts, or that no other neuron could compensate in a retrained model. Zero is
not a neutral value for every neuron: zero-ablation moves the activation off its usual range
(GELU outputs are rarely exactly 0 on their own), so part of a delta can be the damage of an
off-distribution value; mean ablation (``method: mean``) removes the neuron's information while
keeping its average contribution, and a delta that survives it is the stronger claim. Deltas of
one neuron on a few dozen sequences are noisy: the summary reports medians and a one-sided
Mann-Whitney p-value (in class > out of class), uncorrected for the number of neurons.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import torch

from sparseprobe.config import ModelSpec
from sparseprobe.datasets import FeatureDataset, load_feature_dataset
from sparseprobe.datasets.schema import stable_seed
from sparseprobe.errors import NeuronStudyError
from sparseprobe.models.loading import LoadedModel, prefix_token_id
from sparseprobe.summaries.neurons import neuron_of, read_neuron_table

HOOK = "mlp.hook_post"
METHODS = ("zero", "mean")

ROW_SCHEMA = {
    "model": pl.String, "dataset": pl.String, "feature": pl.String, "layer": pl.Int32,
    "neuron": pl.Int32, "example_id": pl.Int64, "in_class": pl.Boolean, "n_tokens": pl.Int32,
    "loss_clean": pl.Float64, "loss_ablated": pl.Float64, "delta": pl.Float64,
    "method": pl.String, "ablation_value": pl.Float64,
}
"""One row per (neuron, sequence) of ``ablation.parquet``."""


@dataclass(frozen=True)
class AblationSettings:
    """Sequences per class, tokens per sequence (BOS included), zero or mean ablation, the
    forward batch size and the run's seed (it picks the sequences)."""

    sequences_per_class: int = 16
    tokens: int = 128
    method: str = "zero"
    batch_size: int = 16
    seed: int = 42

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise NeuronStudyError(f"ablation.method must be one of {METHODS}, got "
                                   f"'{self.method}'")
        if self.tokens < 2:
            raise NeuronStudyError(f"ablation.tokens must be at least 2, got {self.tokens}")


def is_causal_lm(spec: ModelSpec) -> bool:
    """Whether the model's HF config names a causal LM class (``*ForCausalLM``,
    ``*LMHeadModel``)."""
    import transformers

    config = transformers.AutoConfig.from_pretrained(str(spec.source), revision=spec.revision)
    names = getattr(config, "architectures", None) or []
    return any(n.endswith(("ForCausalLM", "LMHeadModel")) for n in names)


def select_sequences(dataset: FeatureDataset, feature: str, n_per_class: int,
                     seed: int) -> pl.DataFrame:
    """example_id, in_class of up to ``n_per_class`` test-split examples per class of
    ``feature``, sampled with a seed of (seed, dataset, feature), sorted in class first then by
    example_id. NeuronStudyError if the feature is not binary or a class has no test example."""
    table = dataset.feature_table(feature)
    if table["label"].is_null().all():
        raise NeuronStudyError(f"dataset '{dataset.name}': feature '{feature}' is a regression "
                               "target; ablation compares the classes of a binary feature")
    test = table.filter(pl.col("split") == "test")
    rng = np.random.default_rng(stable_seed(seed, "ablation", dataset.name, feature))
    parts = []
    for in_class in (True, False):
        ids = test.filter(pl.col("label") == in_class)["example_id"].to_numpy()
        if len(ids) == 0:
            raise NeuronStudyError(f"dataset '{dataset.name}': feature '{feature}' has no "
                                   f"{'positive' if in_class else 'negative'} test example")
        chosen = np.sort(rng.choice(ids, size=min(n_per_class, len(ids)), replace=False))
        parts.append(pl.DataFrame({"example_id": chosen.astype(np.int64),
                                   "in_class": [in_class] * len(chosen)}))
    return pl.concat(parts)


def encode(tokenizer, text: str, tokens: int, prefix_id: int | None) -> list[int]:
    """The first ``tokens`` token ids of ``text`` (``prefix_id`` first when given)."""
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    head = [prefix_id] if prefix_id is not None else []
    return head + ids[: tokens - len(head)]


def _prefix(model: LoadedModel) -> int | None:
    return prefix_token_id(model.spec, model.tokenizer)


def sequence_losses(model: LoadedModel, sequences: list[list[int]], batch_size: int,
                    fwd_hooks: list | None = None) -> np.ndarray:
    """Summed next-token cross-entropy (nats, float64) of each sequence, with ``fwd_hooks``
    attached for the duration of the call only (removed even if the forward raises).

    Sequences are right-padded within a batch; with causal attention a real position never sees
    a pad, and pad targets are masked out, so a sequence's loss does not depend on its batch.
    """
    pad = model.tokenizer.pad_token_id or 0
    out = np.empty(len(sequences), dtype=np.float64)
    with torch.inference_mode(), model.bridge.hooks(fwd_hooks=list(fwd_hooks or [])):
        for lo in range(0, len(sequences), batch_size):
            batch = sequences[lo : lo + batch_size]
            width = max(len(s) for s in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            attention = torch.zeros((len(batch), width), dtype=torch.long)
            for row, seq in enumerate(batch):
                ids[row, : len(seq)] = torch.tensor(seq)
                attention[row, : len(seq)] = 1
            ids, attention = ids.to(model.device), attention.to(model.device)
            logits = model.bridge(ids, return_type="logits", attention_mask=attention)
            logp = torch.log_softmax(logits[:, :-1].double(), dim=-1)
            nll = -logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            out[lo : lo + len(batch)] = (nll * attention[:, 1:]).sum(1).cpu().numpy()
    return out


def ablation_hook(neuron: int, value: float):
    """A forward hook that sets ``neuron`` to ``value`` at every position (on a copy)."""

    def hook(activation: torch.Tensor, hook=None) -> torch.Tensor:
        activation = activation.clone()
        activation[..., neuron] = value
        return activation

    return hook


def mean_activation(model: LoadedModel, sequences: list[list[int]], layer: int, neuron: int,
                    batch_size: int) -> float:
    """The neuron's mean activation over every real token position of ``sequences``."""
    total, count = 0.0, 0

    def capture(activation: torch.Tensor, hook=None) -> None:
        nonlocal total, count
        mask = capture.mask.to(activation.device)
        total += float((activation[..., neuron].double() * mask).sum())
        count += int(mask.sum())

    name = f"blocks.{layer}.{HOOK}"
    with torch.inference_mode(), model.bridge.hooks(fwd_hooks=[(name, capture)]):
        for lo in range(0, len(sequences), batch_size):
            batch = sequences[lo : lo + batch_size]
            width = max(len(s) for s in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.double)
            for row, seq in enumerate(batch):
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            capture.mask = mask
            model.bridge(ids.to(model.device), return_type="logits",
                         attention_mask=mask.long().to(model.device))
    return total / max(count, 1)


def ablate_neuron(model: LoadedModel, sequences: list[list[int]], layer: int, neuron: int,
                  settings: AblationSettings) -> tuple[np.ndarray, float]:
    """Per-sequence summed loss with ``neuron`` of ``layer`` ablated, and the value used."""
    if not 0 <= layer < model.n_layers or not 0 <= neuron < model.d_mlp:
        raise NeuronStudyError(f"model '{model.spec.name}' has {model.n_layers} layers of "
                               f"{model.d_mlp} neurons; asked for layer {layer} neuron {neuron}")
    value = 0.0
    if settings.method == "mean":
        value = mean_activation(model, sequences, layer, neuron, settings.batch_size)
    hook = (f"blocks.{layer}.{HOOK}", ablation_hook(neuron, value))
    return sequence_losses(model, sequences, settings.batch_size, [hook]), value


def ablation_rows(model: LoadedModel, dataset: FeatureDataset, neuron: dict,
                  settings: AblationSettings) -> pl.DataFrame:
    """The ``ROW_SCHEMA`` rows of one neuron (a neuron-table row) on its feature's sequences."""
    chosen = select_sequences(dataset, neuron["feature"], settings.sequences_per_class,
                              settings.seed)
    tokens = min(settings.tokens, int(getattr(model.bridge.cfg, "n_ctx", settings.tokens)))
    texts = dataset.examples["text"]
    prefix = _prefix(model)
    sequences = [encode(model.tokenizer, texts[int(i)], tokens, prefix)
                 for i in chosen["example_id"]]
    keep = [len(s) >= 2 for s in sequences]
    chosen = chosen.filter(pl.Series(keep))
    sequences = [s for s, k in zip(sequences, keep) if k]
    clean = sequence_losses(model, sequences, settings.batch_size)
    ablated, value = ablate_neuron(model, sequences, neuron["layer"], neuron["neuron"], settings)
    return chosen.with_columns(
        model=pl.lit(model.spec.name), dataset=pl.lit(dataset.name),
        feature=pl.lit(neuron["feature"]), layer=pl.lit(neuron["layer"]),
        neuron=pl.lit(neuron["neuron"]), n_tokens=pl.Series([len(s) - 1 for s in sequences]),
        loss_clean=pl.Series(clean), loss_ablated=pl.Series(ablated),
        delta=pl.Series(ablated - clean), method=pl.lit(settings.method),
        ablation_value=pl.lit(value),
    ).select([pl.col(c).cast(t) for c, t in ROW_SCHEMA.items()])


def holm(p_values) -> list[float | None]:
    """Holm's step-down adjustment (controls the family-wise error rate): the i-th smallest of
    m p-values becomes max_{j <= i} min(1, (m - j + 1) p_(j)). Nulls stay null and do not
    count among the m tests."""
    return _adjust(p_values, "holm")


def benjamini_hochberg(p_values) -> list[float | None]:
    """Benjamini-Hochberg adjustment (controls the false discovery rate): the i-th smallest of m
    p-values becomes min_{j >= i} min(1, m p_(j) / j) (as scipy.stats.false_discovery_control).
    Nulls stay null and do not count."""
    return _adjust(p_values, "bh")


def _adjust(p_values, method: str) -> list[float | None]:
    values = [None if p is None or np.isnan(p) else float(p) for p in p_values]
    present = [i for i, p in enumerate(values) if p is not None]
    m = len(present)
    out: list[float | None] = [None] * len(values)
    if not m:
        return out
    p = np.array([values[i] for i in present])
    order = np.argsort(p, kind="stable")
    ranks = np.arange(1, m + 1)
    if method == "holm":
        adjusted = np.maximum.accumulate(np.minimum(1.0, (m - ranks + 1) * p[order]))
    else:
        adjusted = np.minimum.accumulate((m * p[order] / ranks)[::-1])[::-1]
        adjusted = np.minimum(1.0, adjusted)
    result = np.empty(m)
    result[order] = adjusted
    for i, value in zip(present, result):
        out[i] = float(value)
    return out


def summarize(rows: pl.DataFrame) -> pl.DataFrame:
    """Per neuron: sequences, mean and median delta (and mean delta per token, mean clean loss)
    in and out of class, their difference, and the one-sided Mann-Whitney p-value of
    delta in class > delta out of class (null with fewer than one sequence per class), with
    ``p_holm`` / ``p_bh``: that p-value adjusted for every neuron tested in this summary (one
    model's ablations; Holm: family-wise error, Benjamini-Hochberg: false discovery rate). Read
    a claim off the adjusted columns: with several features ablated, an uncorrected p below 0.05
    is expected by chance. The neurons are the neuron table's (chosen on validation by default,
    ``selected_on``), the texts the test split's, so the choice and the test are disjoint."""
    from scipy.stats import mannwhitneyu

    keys = ["model", "dataset", "feature", "layer", "neuron", "method"]
    records = []
    for key, group in rows.group_by(keys, maintain_order=True):
        record = dict(zip(keys, key))
        for name, part in (("in", group.filter(pl.col("in_class"))),
                           ("out", group.filter(~pl.col("in_class")))):
            record[f"n_{name}"] = part.height
            record[f"mean_delta_{name}"] = part["delta"].mean()
            record[f"median_delta_{name}"] = part["delta"].median()
            record[f"mean_delta_per_token_{name}"] = (part["delta"] / part["n_tokens"]).mean()
            record[f"mean_loss_clean_{name}"] = part["loss_clean"].mean()
        inside = group.filter(pl.col("in_class"))["delta"].to_numpy()
        outside = group.filter(~pl.col("in_class"))["delta"].to_numpy()
        record["p_value"] = (float(mannwhitneyu(inside, outside, alternative="greater").pvalue)
                             if len(inside) and len(outside) else None)
        records.append(record)
    summary = pl.DataFrame(records)
    if summary.height:
        summary = summary.with_columns(
            p_holm=pl.Series(holm(summary["p_value"].to_list()), dtype=pl.Float64),
            p_bh=pl.Series(benjamini_hochberg(summary["p_value"].to_list()), dtype=pl.Float64),
            delta_gap=pl.col("mean_delta_in") - pl.col("mean_delta_out"),
            layer=pl.col("layer").cast(pl.Int32), neuron=pl.col("neuron").cast(pl.Int32),
        ).sort("dataset", "feature")
    return summary


def plot_deltas(rows: pl.DataFrame, out_path: Path, model_name: str) -> None:
    """Box plot of delta per ablated neuron, in class next to out of class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = rows.select("dataset", "feature", "layer", "neuron").unique(maintain_order=True)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * groups.height + 1.5), 3.6))
    data, positions, colors, ticks, names = [], [], [], [], []
    for i, (dataset, feature, layer, neuron) in enumerate(groups.iter_rows()):
        part = rows.filter((pl.col("dataset") == dataset) & (pl.col("feature") == feature))
        for offset, in_class, color in ((-0.2, True, "tab:orange"), (0.2, False, "tab:blue")):
            data.append(part.filter(pl.col("in_class") == in_class)["delta"].to_numpy())
            positions.append(i + offset)
            colors.append(color)
        ticks.append(i)
        names.append(f"{dataset}/{feature}\nL{layer} N{neuron}")
    if data:
        boxes = ax.boxplot(data, positions=positions, widths=0.35, patch_artist=True,
                           showfliers=True)
        for patch, color in zip(boxes["boxes"], colors):
            patch.set_facecolor(color)
            patch.set_alpha(0.5)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(ticks, names, fontsize=7)
    method = rows["method"][0] if rows.height else "zero"
    ax.set_ylabel(f"loss change, {method}-ablated - clean\n(nats summed over sequence)",
                  fontsize=8)
    ax.set_title(f"{model_name}: each feature's best neuron ablated\n"
                 "orange: in-class texts, blue: out-of-class texts", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def run_ablation(model: LoadedModel, neuron_table: Path, dataset_dirs: dict[str, Path],
                 features: dict[str, list[str]], settings: AblationSettings) -> pl.DataFrame:
    """Ablation rows of the best neuron of every selected feature (``features``: dataset ->
    feature names; an empty list means every feature of the dataset in the neuron table)."""
    if not is_causal_lm(model.spec):
        raise NeuronStudyError(f"model '{model.spec.name}' is not a causal LM (its config names "
                               "no ...ForCausalLM class); leave it out of ablation.models")
    table = read_neuron_table(neuron_table).filter(pl.col("model") == model.spec.name)
    frames = []
    for name, wanted in features.items():
        if name not in dataset_dirs:
            raise NeuronStudyError(f"ablation.features names dataset '{name}', not given "
                                   f"(have {sorted(dataset_dirs)})")
        dataset = load_feature_dataset(dataset_dirs[name])
        names = wanted or table.filter(pl.col("dataset") == name)["feature"].to_list()
        for feature in names:
            neuron = neuron_of(table, name, feature, str(neuron_table))
            frames.append(ablation_rows(model, dataset, neuron, settings))
    if not frames:
        return pl.DataFrame(schema=ROW_SCHEMA)
    return pl.concat(frames)


def summary_html(summary: pl.DataFrame, model_name: str, method: str) -> str:
    """The summary as a self-contained HTML page (every value escaped)."""
    esc = html.escape
    # the key columns first, so that they are on screen at the report's width
    key = [c for c in ("dataset", "feature", "layer", "neuron", "delta_gap", "p_value",
                       "mean_delta_in", "mean_delta_out", "n_in", "n_out") if c in summary.columns]
    columns = key + [c for c in summary.columns if c not in ("model", "method", *key)]

    def cell(value) -> str:
        text = "" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))
        return f"<td>{esc(text)}</td>"

    body = "\n".join("<tr>" + "".join(cell(row[c]) for c in columns) + "</tr>"
                     for row in summary.iter_rows(named=True))
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(model_name)}: neuron ablation</title><style>"
        "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}</style></head><body>"
        f"<h3>{esc(model_name)}: {esc(method)}-ablation of each feature's best neuron</h3>"
        "<p>delta = loss with the neuron ablated at every position minus the clean loss, in "
        "nats summed over the sequence (<code>n_tokens</code> predicted tokens, at most the "
        "configured length); <i>in</i>: test texts of the feature, <i>out</i>: test texts of "
        "other classes; p_value: one-sided Mann-Whitney U, delta in &gt; out, uncorrected; "
        "p_holm / p_bh: adjusted for the neurons of this table (Holm / Benjamini-Hochberg): "
        "read claims off these.</p>"
        f"<table><tr>{head}</tr>\n{body}</table></body></html>\n"
    )


def write_ablation(model: LoadedModel, neuron_table: Path, dataset_dirs: dict[str, Path],
                   features: dict[str, list[str]], settings: AblationSettings, rows_out: Path,
                   summary_out: Path, summary_html_out: Path, plot_out: Path) -> pl.DataFrame:
    """Run :func:`run_ablation` and write the rows, the per-neuron summary (Parquet and HTML)
    and the box plot."""
    rows = run_ablation(model, neuron_table, dataset_dirs, features, settings)
    for path in (rows_out, summary_out, summary_html_out, plot_out):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(rows_out)
    summary = summarize(rows)
    summary.write_parquet(summary_out)
    Path(summary_html_out).write_text(summary_html(summary, model.spec.name, settings.method),
                                      encoding="utf-8")
    plot_deltas(rows, Path(plot_out), model.spec.name)
    return rows
