"""Neuron case studies: for a model's best single neurons, how they respond to their feature.

For each of the top ``n`` rows of the model's neuron table (by validation F1 where the table
was chosen on validation, :func:`top_by_selection`; by test F1 otherwise, as
:func:`sparseprobe.summaries.neurons.top_neurons`), from the cached activations (the same numbers the
probes saw: the dataset's aggregation over the span, at ``blocks.{L}.mlp.hook_post``):

- a histogram PNG of the neuron's activation on the feature's positive examples against its
  negative ones (every example the feature labels, train and test splits together);
- an HTML page (self-contained, every text escaped) with the ``contexts`` examples on which the
  neuron is most active, each shown as the model saw it: the token window that ends at the span,
  the tokens that were read highlighted (``last``: the span's last token; ``mean``/``max``: every
  span token in the window), the rest of the span underlined, and the text after the window
  (never seen by the model) dimmed.

What this does and does not show: a histogram is a description of how well one neuron separates
the classes on this dataset (a neuron chosen on validation is shown on every example, train and
test together; chosen by test F1, the separation looks at least as good as on fresh data); top-activating contexts show what the neuron responds to most on *these*
examples, not everything it responds to (a neuron can be polysemantic outside the dataset), and
nothing about what the neuron causes (see :mod:`sparseprobe.report.ablation`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from sparseprobe.activations.extraction import span_window
from sparseprobe.config import ModelSpec
from sparseprobe.datasets import FeatureDataset, load_feature_dataset
from sparseprobe.errors import NeuronStudyError
from sparseprobe.summaries.neurons import read_neuron_table, top_neurons
from sparseprobe.activations.store import read_layer

HOOK = "mlp.hook_post"


def top_by_selection(table: pl.DataFrame, n: int) -> pl.DataFrame:
    """The ``n`` rows of a neuron table to study, with a 1-based ``rank``: by ``val_f1`` (then
    ``val_mcc``) where the table says ``selected_on = validation``, so the test split chooses
    nothing; else (an older table, or ``summaries.selection: test``) by test F1 as
    :func:`~sparseprobe.summaries.neurons.top_neurons`."""
    if "val_f1" not in table.columns or "selected_on" not in table.columns:
        return top_neurons(table, n)
    on_val = pl.col("selected_on") == "validation"
    return (
        table.with_columns(_f1=pl.when(on_val).then(pl.col("val_f1")).otherwise(pl.col("f1")),
                           _mcc=pl.when(on_val).then(pl.col("val_mcc")).otherwise(pl.col("mcc")))
        .filter(pl.col("_f1").is_not_null())
        .sort(["_f1", "_mcc", "dataset", "feature"], descending=[True, True, False, False],
              nulls_last=True)
        .head(n)
        .drop("_f1", "_mcc")
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int32))
    )


@dataclass(frozen=True)
class CaseStudySettings:
    """How many neurons, how many contexts per neuron, histogram bins, and how many characters
    after the model's window to show (dimmed) for readability."""

    n_neurons: int = 5
    contexts: int = 20
    bins: int = 40
    unseen_chars: int = 80


@dataclass(frozen=True)
class ReadWindow:
    """Character view of what the model saw for one example.

    ``start``/``end``: the characters covered by the token window (BOS excluded); ``read``: the
    character ranges of the tokens whose activations were aggregated, merged and sorted.
    """

    start: int
    end: int
    read: tuple[tuple[int, int], ...]


def read_window(
    tokenizer, text: str, span_start: int, span_end: int, context_tokens: int,
    has_prefix: bool, aggregation: str,
) -> ReadWindow:
    """The window and read tokens of one example, by the rules of
    :func:`sparseprobe.activations.extraction.tokenize_example` (a window of at most ``context_tokens``
    tokens, prefix included, ending at the span's last token) and of the aggregation."""
    # the whole text is tokenized to find the span, then windowed: verbose=False silences
    # transformers' "longer than the maximum sequence length ... indexing errors" warning
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    budget = context_tokens - (1 if has_prefix else 0)
    first, end, in_window = span_window(offsets, span_start, span_end, budget)
    if not in_window:
        raise NeuronStudyError(
            f"no token overlaps the span [{span_start}, {span_end}) of text {text[:60]!r}"
        )
    read = in_window[-1:] if aggregation == "last" else in_window
    return ReadWindow(offsets[first][0], offsets[end - 1][1], _merge([offsets[p] for p in read]))


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def context_html(
    text: str, window: ReadWindow, span_start: int, span_end: int, unseen_chars: int
) -> str:
    """An HTML fragment of one example: read tokens in ``<mark>``, the rest of the span in
    ``<u>``, the text after the window (the model never saw it) in ``<span class="unseen">``.
    Every piece of text is escaped; the markup is the only HTML in the result."""
    kinds = []
    for i in range(window.start, window.end):
        if any(s <= i < e for s, e in window.read):
            kinds.append("mark")
        elif span_start <= i < span_end:
            kinds.append("u")
        else:
            kinds.append("")
    parts = ['<span class="cut">\u2026</span>'] if window.start > 0 else []
    i = window.start
    while i < window.end:
        j = i
        while j < window.end and kinds[j - window.start] == kinds[i - window.start]:
            j += 1
        piece, tag = html.escape(text[i:j]), kinds[i - window.start]
        parts.append(f"<{tag}>{piece}</{tag}>" if tag else piece)
        i = j
    after = text[window.end : window.end + unseen_chars]
    if after:
        more = "\u2026" if len(text) > window.end + unseen_chars else ""
        parts.append(f'<span class="unseen">{html.escape(after)}{more}</span>')
    return "".join(parts)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; font-size: 13px; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }}
td.context {{ font-family: monospace; white-space: pre-wrap; max-width: 70em; }}
td.num {{ text-align: right; }}
mark {{ background: #ffd54f; }}
u {{ text-decoration-color: #e6a700; }}
.unseen, .cut {{ color: #aaa; }}
tr.in td.cls {{ color: #1b5e20; font-weight: bold; }}
</style></head><body>
<h3>{title}</h3>
<p>{summary}</p>
<p>Contexts: the {n} examples labelled for the feature on which this neuron's activation
({aggregation} over the span, <code>{hook}</code>) is highest, train and test splits together.
Each shows the model's token window; <mark>highlighted</mark>: the tokens read; <u>underlined</u>:
the rest of the span; <span class="unseen">grey</span>: text after the window, never seen.</p>
<table>
<tr><th>rank</th><th>example</th><th>split</th><th>class</th><th>activation</th>
<th>context</th></tr>
{rows}
</table></body></html>
"""


def contexts_page(neuron: dict, aggregation: str, rows: list[dict]) -> str:
    """A self-contained HTML page: a header naming the neuron and a table of ``rows`` (each
    with rank, example_id, split, label, activation and ``context``, an HTML fragment from
    :func:`context_html`)."""
    esc = html.escape
    title = (f"{neuron['model']} \u00b7 {neuron['dataset']} / {neuron['feature']} \u00b7 "
             f"layer {neuron['layer']} neuron {neuron['neuron']}")
    summary = (f"Single-neuron probe: test F1 {_fmt(neuron.get('f1'))}, MCC "
               f"{_fmt(neuron.get('mcc'))}, coefficient {_fmt(neuron.get('coef'), '+.3f')}.")
    body = "\n".join(
        f'<tr class="{"in" if r["label"] else "out"}"><td class="num">{r["rank"]}</td>'
        f'<td class="num">{r["example_id"]}</td><td>{esc(str(r["split"]))}</td>'
        f'<td class="cls">{"in class" if r["label"] else "out of class"}</td>'
        f'<td class="num">{r["activation"]:.4g}</td><td class="context">{r["context"]}</td></tr>'
        for r in rows
    )
    return _PAGE.format(title=esc(title), summary=esc(summary), n=len(rows),
                        aggregation=esc(aggregation),
                        hook=esc(f"blocks.{neuron['layer']}.{HOOK}"), rows=body)


def _fmt(value, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def plot_histogram(values: np.ndarray, labels: np.ndarray, neuron: dict, aggregation: str,
                   out_path: Path, bins: int) -> None:
    """Overlaid histograms (density) of ``values`` for ``labels`` True (in class) and False,
    on shared bins, with each class mean as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.histogram_bin_edges(values, bins=bins)
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    for mask, name, color in ((labels, "in class", "tab:orange"), (~labels, "out of class",
                                                                  "tab:blue")):
        if mask.any():
            ax.hist(values[mask], bins=edges, density=True, histtype="stepfilled", alpha=0.45,
                    color=color, label=f"{name} (n={int(mask.sum())})")
            ax.axvline(float(values[mask].mean()), color=color, ls="--", lw=1)
    ax.set_xlabel(f"activation ({aggregation} over span, blocks.{neuron['layer']}.{HOOK})",
                  fontsize=8)
    ax.set_ylabel("density")
    f1 = _fmt(neuron.get("f1"), ".2f")
    ax.set_title(f"{neuron['model']} {neuron['dataset']}/{neuron['feature']}: layer "
                 f"{neuron['layer']} neuron {neuron['neuron']} (F1 {f1})", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def file_stem(neuron: dict) -> str:
    """``{rank}__{dataset}__{feature}__L{layer}__N{neuron}`` (characters outside
    ``[A-Za-z0-9_.=+-]`` in the feature become ``_``); the report's file pattern."""
    feature = re.sub(r"[^A-Za-z0-9_.=+-]", "_", neuron["feature"])
    return (f"{neuron['rank']:02d}__{neuron['dataset']}__{feature}__L{neuron['layer']}"
            f"__N{neuron['neuron']}")


def load_tokenizer(spec: ModelSpec):
    """The model's own tokenizer (as :func:`sparseprobe.models.loading.load_model` loads it), and
    whether extraction prepended a BOS/CLS token (which takes one place in the window)."""
    from sparseprobe.models.loading import load_tokenizer, prefix_token_id

    tokenizer = load_tokenizer(spec)
    return tokenizer, prefix_token_id(spec, tokenizer) is not None


def _study_one(neuron: dict, dataset: FeatureDataset, store: Path, tokenizer, has_prefix: bool,
               context_tokens: int, settings: CaseStudySettings, hist_dir: Path,
               ctx_dir: Path) -> dict:
    feature = dataset.feature_table(neuron["feature"])
    if feature["label"].is_null().all():
        raise NeuronStudyError(
            f"dataset '{dataset.name}': feature '{neuron['feature']}' is a regression target; "
            "neuron case studies need a binary feature"
        )
    acts = read_layer(store, neuron["layer"], dataset, neurons=[neuron["neuron"]])[:, 0]
    ids = feature["example_id"].to_numpy()
    values, labels = acts[ids], feature["label"].to_numpy().astype(bool)
    stem = file_stem(neuron)
    plot_histogram(values, labels, neuron, dataset.aggregation, hist_dir / f"{stem}.png",
                   settings.bins)
    order = np.lexsort((ids, -values))[: settings.contexts]
    examples = dataset.examples
    rows = []
    for rank, i in enumerate(order, start=1):
        ex = examples.row(int(ids[i]), named=True)
        window = read_window(tokenizer, ex["text"], ex["span_start"], ex["span_end"],
                             context_tokens, has_prefix, dataset.aggregation)
        rows.append({
            "rank": rank, "example_id": int(ids[i]), "split": ex["split"],
            "label": bool(labels[i]), "activation": float(values[i]),
            "context": context_html(ex["text"], window, ex["span_start"], ex["span_end"],
                                    settings.unseen_chars),
        })
    (ctx_dir / f"{stem}.html").write_text(
        contexts_page(neuron, dataset.aggregation, rows), encoding="utf-8")
    top = labels[order]
    return {
        **{k: neuron[k] for k in ("rank", "model", "dataset", "feature", "layer", "neuron",
                                  "f1", "mcc", "coef")},
        "aggregation": dataset.aggregation,
        "n_positive": int(labels.sum()), "n_negative": int((~labels).sum()),
        "mean_positive": float(values[labels].mean()) if labels.any() else None,
        "mean_negative": float(values[~labels].mean()) if (~labels).any() else None,
        "top_contexts_in_class": float(top.mean()) if len(top) else None,
        "histogram": f"{stem}.png", "contexts": f"{stem}.html",
    }


def write_case_studies(
    neuron_table: Path, spec: ModelSpec, dataset_dirs: dict[str, Path],
    store_dirs: dict[str, Path], context_tokens: dict[str, int], hist_dir: Path, ctx_dir: Path,
    index_out: Path, settings: CaseStudySettings,
) -> pl.DataFrame:
    """Write the case studies of the top ``settings.n_neurons`` neurons of ``neuron_table``
    (histograms into ``hist_dir``, context pages into ``ctx_dir``) and an index table
    (``index_out``: rank, neuron, F1, class sizes and means, the share of in-class examples among
    the top contexts, file names). Returns the index."""
    table = read_neuron_table(neuron_table)
    top = top_by_selection(table.filter(pl.col("model") == spec.name), settings.n_neurons)
    for directory in (hist_dir, ctx_dir):
        Path(directory).mkdir(parents=True, exist_ok=True)
    tokenizer, has_prefix = load_tokenizer(spec) if top.height else (None, False)
    datasets: dict[str, FeatureDataset] = {}
    records = []
    for neuron in top.iter_rows(named=True):
        name = neuron["dataset"]
        if name not in dataset_dirs or name not in store_dirs:
            raise NeuronStudyError(
                f"{neuron_table}: neuron of dataset '{name}' but no dataset/activations given "
                f"for it (have {sorted(dataset_dirs)})"
            )
        if name not in datasets:
            datasets[name] = load_feature_dataset(dataset_dirs[name])
        records.append(_study_one(neuron, datasets[name], store_dirs[name], tokenizer,
                                  has_prefix, context_tokens.get(name, 128), settings,
                                  Path(hist_dir), Path(ctx_dir)))
    index = pl.DataFrame(records, schema_overrides={"rank": pl.Int32, "layer": pl.Int32,
                                                    "neuron": pl.Int32}) if records else \
        pl.DataFrame(schema={"rank": pl.Int32, "model": pl.String, "dataset": pl.String,
                             "feature": pl.String, "layer": pl.Int32, "neuron": pl.Int32})
    Path(index_out).parent.mkdir(parents=True, exist_ok=True)
    index.write_parquet(index_out)
    return index
