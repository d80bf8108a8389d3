"""docs/results.md from a finished run's tables: a model's per-category F1s, peak layers and
strongest single neurons (with their top contexts), side by side with a comparison model and
the paper's published pythia-70m figures.

Every number comes from ``results/summaries/models/{model}/`` (best_layers, neurons, probes),
``results/neurons/{model}/case_studies.parquet`` and the activation stores; nothing is typed by
hand except the paper's figures (:data:`PAPER_PYTHIA_70M`). Best layer and best neuron are
chosen where the run's ``summaries.selection`` said (validation by default; the tables'
``selected_on`` column), and :func:`optimism_table` shows, per model of each run, every headline
chosen on test beside the same headline chosen on validation: how much the paper's protocol
(choosing on the split it reports) inflates it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sparseprobe.activations.store import read_layer
from sparseprobe.datasets import load_feature_dataset
from sparseprobe.errors import ReportError

PAPER_PYTHIA_70M = {
    "mean_single_f1": 0.788, "n_features": 100, "n_single_ge_0_9": 23,
    "french_layer": 3, "german_layer": 3, "french_f1": 1.0, "german_f1": 1.0,
}
"""Gurnee et al. 2023, pythia-70m (V0 weights), from the paper's released neuron tables."""


@dataclass(frozen=True)
class Run:
    """One model's results: its results directory, the config that produced it and a label."""

    model: str
    results: Path
    config: str

    def table(self, name: str) -> pl.DataFrame:
        path = self.results / "summaries" / "models" / self.model / f"{name}.parquet"
        if not path.is_file():
            raise ReportError(f"model '{self.model}': {path} does not exist (run the workflow "
                              f"with {self.config} first)")
        return pl.read_parquet(path)

    def commit(self) -> str:
        """The git commit of the checkout the results directory lives in, or 'unknown'."""
        proc = subprocess.run(["git", "-C", str(self.results.resolve().parent), "rev-parse",
                               "--short", "HEAD"], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else "unknown"


def _classification(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("task") == "classification") if "task" in frame.columns else frame


def category_table(run: Run) -> pl.DataFrame:
    """Per category: features, mean best-single-neuron F1, mean best-layer F1 of mean_diff probes
    at k = 1 and 16 and of the dense probe, and the layer where the category's mean k = 16 F1
    peaks (over the probed layers)."""
    best = _classification(run.table("best_layers"))

    def mean_f1(name: str, method: str, k: int | None = None) -> pl.DataFrame:
        rows = best.filter(pl.col("method") == method)
        if k is not None:
            rows = rows.filter(pl.col("k") == k)
        return rows.group_by("category").agg(pl.col("f1").mean().alias(name))

    out = best.group_by("category").agg(pl.col("feature").n_unique().alias("features"))
    for part in (mean_f1("single_neuron", "single_neuron"), mean_f1("k1", "mean_diff", 1),
                 mean_f1("k16", "mean_diff", 16), mean_f1("dense", "dense")):
        out = out.join(part, on="category", how="left")
    return out.join(peak_layers(run), on="category", how="left").sort("category")


def peak_layers(run: Run, k: int = 16) -> pl.DataFrame:
    """Per category, the layer with the highest mean validation F1 of mean_diff k-sparse probes
    (test F1 where the rows have no validation metrics, an older run)."""
    probes = _classification(run.table("probes")).filter(
        (pl.col("method") == "mean_diff") & (pl.col("k") == k))
    score = pl.col("val_f1") if "val_f1" in probes.columns and \
        probes["val_f1"].is_not_null().all() else pl.col("f1")
    per_layer = probes.group_by("category", "layer").agg(score.mean().alias("f1"))
    return (per_layer.sort(["category", "f1", "layer"], descending=[False, True, False])
            .group_by("category", maintain_order=True).first()
            .select("category", pl.col("layer").alias("peak_layer")))


def headline(run: Run) -> dict:
    """Mean best-single-neuron F1 over the binary features, how many reach 0.9, and the best
    French and German neurons (when the run has them)."""
    neurons = _classification(run.table("neurons"))
    out = {"mean_single_f1": neurons["f1"].mean(), "n_features": neurons.height,
           "n_single_ge_0_9": int((neurons["f1"] >= 0.9).sum())}
    for lang, key in (("fr", "french"), ("de", "german")):
        row = neurons.filter((pl.col("dataset") == "natural_language") & (pl.col("feature") == lang))
        out[f"{key}_layer"] = row["layer"][0] if row.height else None
        out[f"{key}_f1"] = row["f1"][0] if row.height else None
    return out


HEADLINE_ROWS = ["mean best single-neuron F1", "binary features",
                 "features with single F1 >= 0.9", "French neuron (layer, F1)",
                 "German neuron (layer, F1)"]


def _headline_column(h: dict) -> list[str]:
    def neuron(key: str) -> str:
        layer = h[f"{key}_layer"]
        return "-" if layer is None else f"L{layer}, {_fmt(h[f'{key}_f1'])}"

    return [_fmt(h["mean_single_f1"]), str(h["n_features"]), str(h["n_single_ge_0_9"]),
            neuron("french"), neuron("german")]


def headline_table(runs: list[Run]) -> pl.DataFrame:
    """The :func:`headline` of each run, one column per model, and the paper's pythia-70m
    figures (:data:`PAPER_PYTHIA_70M`) as the last column."""
    columns = {"": HEADLINE_ROWS}
    columns |= {run.model: _headline_column(headline(run)) for run in runs}
    columns["pythia-70m (paper)"] = _headline_column(PAPER_PYTHIA_70M)
    return pl.DataFrame(columns)


def _snippet(text: str, start: int, end: int, left: int = 40, span: int = 40,
             right: int = 12) -> str:
    """A few characters before the span, the span (cut to ``span`` characters) in [[ ]], and a
    few after it (which a causal model never sees when the window ends at the span)."""
    cut = text[start:end] if end - start <= span else text[start:start + span] + "..."
    return f"{text[max(0, start - left):start]}[[{cut}]]{text[end:end + right]}"


def top_contexts(run: Run, row: dict, n: int = 3) -> list[str]:
    """The ``n`` examples labelled for the neuron's feature with the highest activation: class,
    activation and the text around the span, read from the activation store."""
    dataset = load_feature_dataset(run.results / "datasets" / row["dataset"])
    store = run.results / "activations" / run.model / row["dataset"]
    acts = read_layer(store, row["layer"], dataset, neurons=[row["neuron"]])[:, 0]
    feature = dataset.feature_table(row["feature"])
    ids = feature["example_id"].to_numpy()
    order = sorted(range(len(ids)), key=lambda i: (-acts[ids[i]], ids[i]))[:n]
    out = []
    for i in order:
        ex = dataset.examples.row(int(ids[i]), named=True)
        snippet = " ".join(_snippet(ex["text"], ex["span_start"], ex["span_end"]).split())
        snippet = snippet.replace("|", "\\|").replace("`", "'")
        cls = "+" if feature["label"][i] else "-"
        out.append(f"{cls} {acts[ids[i]]:.2f} `{snippet}`")
    return out


OPTIMISM_COLUMNS = ["model", "chosen on", "features", "mean single-neuron F1",
                    "single F1 >= 0.9", "best-layer F1 k=1", "best-layer F1 k=16",
                    "best-layer F1 dense"]


def optimism_rows(probes: pl.DataFrame) -> list[dict]:
    """For each model of ``probes`` (table 1 rows, with categories) and each selection (test,
    then validation): the headlines over its binary features, every choice (best layer, best
    single neuron) made on that split and every F1 the test split's. The feature set is the
    same in both rows, so their difference is the optimism of choosing on test. A model whose
    rows lack validation metrics gets ``test (no validation split)`` in its second row."""
    from sparseprobe import summaries

    out = []
    binary = probes.filter(pl.col("task") == "classification")
    for model in binary["model"].unique(maintain_order=True).to_list():
        rows = binary.filter(pl.col("model") == model)
        d_mlp = int(rows["d_mlp"][0])
        for selection in summaries.SELECTIONS[::-1]:
            best = summaries.best_layers(rows, selection)
            neurons = summaries.best_neurons(rows, selection)
            on = _chosen_on(best, selection)

            def mean(method: str, k: int | None = None) -> float | None:
                part = best.filter(pl.col("method") == method)
                if k is not None:
                    part = part.filter(pl.col("k") == min(k, d_mlp))
                return part["f1"].mean() if part.height else None

            out.append({
                "model": model, "chosen on": on, "features": neurons.height,
                "mean single-neuron F1": neurons["f1"].mean(),
                "single F1 >= 0.9": int((neurons["f1"] >= 0.9).sum()),
                "best-layer F1 k=1": mean("mean_diff", 1),
                "best-layer F1 k=16": mean("mean_diff", 16),
                "best-layer F1 dense": mean("dense"),
            })
    return out


def _chosen_on(best: pl.DataFrame, selection: str) -> str:
    """The "chosen on" label of one optimism row (``best``: its best-layer rows): the split,
    and how many features fell back to test where they had no usable validation rows."""
    if selection == "test":
        return "test"
    features = best.select("dataset", "feature").n_unique()
    on_test = best.filter(pl.col("selected_on") != "validation").select(
        "dataset", "feature").n_unique()
    if on_test == features:
        return "test (no validation split)"
    if on_test == 0:
        return "validation"
    return f"validation ({on_test} of {features} features on test)"


def model_runs(results: Path, config: str) -> list[Run]:
    """Every model of a results directory with a probes.parquet, smallest first by name."""
    root = Path(results) / "summaries" / "models"
    names = sorted(p.parent.name for p in root.glob("*/probes.parquet"))
    return [Run(name, Path(results), config) for name in names]


def optimism_table(runs: list[Run]) -> pl.DataFrame:
    """:func:`optimism_rows` of every run's probe table (table 1), one pair of rows per model,
    in the order given (duplicates once)."""
    rows, seen = [], set()
    for run in runs:
        key = (str(run.results), run.model)
        if key in seen:
            continue
        seen.add(key)
        rows += optimism_rows(run.table("probes").filter(pl.col("model") == run.model))
    if not rows:
        return pl.DataFrame(schema=dict.fromkeys(OPTIMISM_COLUMNS, pl.String))
    return pl.DataFrame(rows).select(OPTIMISM_COLUMNS)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *rows])


PER_MODEL_RULES = ("model_summary", "neuron_tables", "plot_model", "neuron_case_studies",
                   "neuron_ablation", "train")


def benchmark_table(run: Run) -> pl.DataFrame:
    """Job seconds summed per rule from the run's results/benchmarks (wall clock per job), the
    jobs of the directory's other models (its basis variants and replicates too) left out."""
    rows = []
    others = {r.model for r in model_runs(run.results, run.config)} - {run.model}
    for path in sorted((run.results / "benchmarks").rglob("*.tsv")):
        parts = path.relative_to(run.results / "benchmarks").parts
        rule = parts[0]
        other_model = (len(parts) >= 3 and parts[1] != run.model) or (
            len(parts) == 2 and (path.stem in others or (rule in PER_MODEL_RULES
                                                         and path.stem != run.model)))
        if other_model:
            continue
        rows.append({"rule": rule, "s": float(pl.read_csv(path, separator="\t")["s"][-1])})
    if not rows:
        return pl.DataFrame({"rule": [], "jobs": [], "seconds": []})
    return (pl.DataFrame(rows).group_by("rule")
            .agg(pl.len().alias("jobs"), pl.col("s").sum().round(1).alias("seconds"))
            .sort("seconds", descending=True))


SIDE_BY_SIDE = ["features", "single_neuron", "k1", "k16", "dense", "peak_layer"]

AGGREGATIONS = """\
## What each aggregation reads in a bidirectional encoder

MiniLM is a BERT encoder: self-attention runs both ways, so the activation at any position
depends on the whole window, left and right of it. Each window starts with the prefix token
`prefix_token_id` gives it: MiniLM's tokenizer has no BOS, so it is **[CLS]** (id 101); no
[SEP] is appended at the end (the windows are cut exactly as for the causal models).

- `last` (text features, compound words, part of speech / morphology, dependencies, LaTeX,
  position): the last token of the span, which in an encoder has also seen every token after it
  inside the window. For the compound words and the sae-probes prompts the span ends the window,
  so there is no right context; for the Brown sentences and LaTeX the window may go on past the
  span, and the right context can carry the answer (a causal model cannot see it).
- `mean` (natural language, code language, data subset): the mean over the span's tokens; every
  token has seen the whole window, so this is close to a bag-of-context summary (the [CLS]
  position is not part of the span and is not averaged).
- `max` (Wikidata): the largest activation over the span's tokens, each of which sees the whole
  window (the name and everything after it).

A ladder model's row at a token sees only that token and what came before it, so the same
aggregation answers an easier question on MiniLM wherever the window extends past the span.
"""

CAVEATS = """\
## Caveats that matter

- **Where choices are made.** The best layer of each probe and the best single neuron are
  chosen on the split the run's `summaries.selection` names (validation by default: a part of
  the train split held out by `split.validation_fraction`); the test split then only reports.
  Results of a run made before the validation split, or with `selection: test`, choose on test
  and are optimistic, more so for MiniLM's 9,216 candidate neurons than for ladder-7's 2,048, and
  more so for small test sets; the table "Chosen on test vs chosen on validation" measures it.
- **Encoder vs causal model.** MiniLM reads both sides of every token (above); pythia-70m and the
  ladder read only the left. MiniLM was also distilled and then fine-tuned for sentence
  embeddings, not trained as a language model.
- **Different data.** The paper's pythia-70m figures come from its own datasets (Pile, EuroParl,
  GitHub, UD EWT, arXiv) and about 100 features; this run's come from the pinned offline builders
  (docs/datasets.md) with the default caps (sized for about 30 test positives per binary
  feature, fewer for LaTeX).
- **Different weights.** The paper used the original (V0) Pythia checkpoints; neuron indices and
  layers do not transfer between checkpoints, let alone between models.
- Default probing methods only (`mean_diff` k-sparse probes, the exhaustive best single neuron,
  the dense probe); no bootstrap intervals.
"""


OPTIMISM_TEXT = (
    "Each headline twice per model: every choice (best layer, best single neuron) made on "
    "the test split it is reported on (the paper's protocol) and made on the validation "
    "split; every F1 is a test F1, over the same binary features. The difference is the "
    "optimism of choosing on test."
)

CATEGORY_TEXT = (
    "Mean over the category's binary features of: the best single neuron's test F1 "
    "(`single_neuron`), the best layer's test F1 of mean_diff k-sparse probes at k = 1 and 16 "
    "and of the dense probe (neuron and layer chosen on the validation split); `peak_layer`: "
    "the layer (0-based) with the highest mean k = 16 validation F1."
)

CANDIDATE_MIN_F1 = 0.9
"""The validation F1 a single neuron must reach to be listed as a candidate (the CLI's --min-f1 0.9 of the README)."""


NEURONS_TEXT = (
    "The candidate list of `sparseprobe neurons` (one neuron per feature here): single neurons "
    f"whose validation F1 reaches {CANDIDATE_MIN_F1}, ranked by specificity (the margin of its "
    "validation F1 over the same neuron's best other feature of the dataset, divided by how "
    "many neurons reach the threshold for the feature: a feature that many neurons separate "
    "is easy, not evidence of a dedicated neuron). The test F1 played no part in the choice. "
    "Each with the three labelled examples on which the neuron fires hardest "
    "(+ in class, - out of class; activation; the text around the span)."
)

PAPER_TEXT = (
    "pythia-70m: the paper's released neuron tables (V0 weights, its own datasets); not a run "
    "of this project."
)


def headline_sections(runs: list[Run], optimism_runs: list[Run]) -> list[str]:
    """The "Headline" section (``runs`` beside the paper's pythia-70m) and the "Chosen on test
    vs chosen on validation" section (every model of ``optimism_runs``), as Markdown lines."""
    return ["## Headline", "", markdown(headline_table(runs)), "", PAPER_TEXT, "",
            "## Chosen on test vs chosen on validation", "", OPTIMISM_TEXT, "",
            markdown(optimism_table(optimism_runs)), ""]


def render_results(model: Run, other: Run, n_neurons: int = 10) -> str:
    """The whole docs/results.md text for ``model`` beside ``other``."""
    mine, theirs = category_table(model), category_table(other)
    lines = [
        f"# Results: {model.model} and {other.model}",
        "",
        "Generated by `sparseprobe results-doc` from the runs' tables; do not edit by hand.",
        "",
        f"- **{model.model}**: `{model.config}`, results of commit `{model.commit()}`.",
        f"- **{other.model}**: `{other.config}`, results of commit `{other.commit()}`.",
        "",
        f"Regenerate: `sparseprobe results-doc --results RESULTS_OF_{model.model.upper()} "
        f"--config '{model.config}' --model {model.model} --compare {other.model} "
        f"--compare-results RESULTS_OF_{other.model.upper()} --compare-config '{other.config}' "
        "--output docs/results.md`, each results directory made by the configs named above.",
        "",
        *headline_sections([model, other],
                           [model, *model_runs(model.results, model.config),
                            other, *model_runs(other.results, other.config)]),
        f"## Per category: {model.model}",
        "",
        CATEGORY_TEXT,
        "",
        markdown(mine),
        "",
        f"## {model.model} beside {other.model}",
        "",
        markdown(side_by_side(mine, theirs, model.model, other.model)),
        "",
        f"{model.model}: {shape_of(model)}; {other.model}: {shape_of(other)}.",
        "",
        f"## Strongest monosemantic neuron candidates: {model.model}",
        "",
        NEURONS_TEXT,
        "",
    ]
    lines += neuron_section(model, n_neurons)
    lines += ["", "## MLP neurons and the residual stream", "", BASES_TEXT, "",
              *basis_section([model, other])]
    lines += ["", "## Across training seeds", "", SEEDS_TEXT, "", *seed_section([model, other]),
              "", AGGREGATIONS, CAVEATS, "## Job time by rule: " + model.model, "",
              "Summed job seconds from results/benchmarks (2 shared CPU cores).", "",
              markdown(benchmark_table(model)), ""]
    return "\n".join(lines)


BASES_TEXT = (
    "With `bases: [mlp, resid]` (config/bases.yaml) every model is also probed in its residual "
    "stream after each block (`{model}-resid`, docs/bases.md). The residual stream has d_model "
    "coordinates, a quarter of the MLP's neurons in these models, so a top-k residual probe "
    "picks from four times fewer units; a residual coordinate is not a privileged direction "
    "the way a neuron behind a nonlinearity is. Chosen on validation, scored on test."
)
BASIS_ROWS = ["units per layer", "mean best single-unit F1", "features with a single unit "
              "at F1 >= 0.9", "mean best-layer F1, top-1 unit", "mean best-layer F1, top-16",
              "mean best-layer F1, dense"]


def _basis_column(run: Run) -> list[str]:
    h = headline(run)
    best = _classification(run.table("best_layers"))
    d = int(best["d_mlp"][0])

    def mean(method: str, k: int | None = None) -> str:
        rows = best.filter(pl.col("method") == method)
        if k is not None:
            rows = rows.filter(pl.col("k") == min(k, d))
        return _fmt(rows["f1"].mean()) if rows.height else "-"

    return [f"{d:,}", _fmt(h["mean_single_f1"]), f"{h['n_single_ge_0_9']} of {h['n_features']}",
            mean("mean_diff", 1), mean("mean_diff", 16), mean("dense")]


def basis_section(runs: list[Run]) -> list[str]:
    """Markdown lines: for each run whose results directory also holds ``{model}-resid``, one
    table of the headline numbers in both bases (:data:`BASIS_ROWS`); a line saying how to get
    them when none does."""
    columns: dict[str, list[str]] = {"": BASIS_ROWS}
    for run in runs:
        resid = Run(f"{run.model}-resid", run.results, run.config)
        if not (resid.results / "summaries" / "models" / resid.model / "neurons.parquet"
                ).is_file():
            continue
        columns[f"{run.model}: MLP"] = _basis_column(run)
        columns[f"{run.model}: residual"] = _basis_column(resid)
    if len(columns) == 1:
        return ["None of these runs probed the residual stream: add `--configfile "
                "config/bases.yaml` and regenerate this page."]
    out = [markdown(pl.DataFrame(columns)), ""]
    for run in runs:
        out += family_basis_lines(run)
    return out


def family_basis_lines(run: Run) -> list[str]:
    """The basis table of ``run``'s family (``results/summaries/bases/{family}.parquet``) as
    one row per model: both bases' mean best single-unit F1 with its bootstrap interval and
    their features at F1 >= 0.9; nothing when the run has no such table."""
    best = run.table("best_layers")
    if "family" not in best.columns:
        return []
    family = best["family"][0]
    path = run.results / "summaries" / "bases" / f"{family}.parquet"
    if not path.is_file():
        return []
    table = pl.read_parquet(path).filter(pl.col("category") == "all")

    def cell(row: dict) -> str:
        return (f"{row['mean_f1_single']:.3f} [{row['mean_f1_single_ci_low']:.3f}, "
                f"{row['mean_f1_single_ci_high']:.3f}]; {row['n_single_f1_ge_0_9']}")

    lines = [f"The {family} family in both bases (`{path.relative_to(run.results.parent)}`; "
             "mean best single-unit F1 [95% bootstrap interval over features]; features at "
             "F1 >= 0.9):", "", "| model | parameters | MLP neurons | residual stream |",
             "|---|---|---|---|"]
    for model in table.sort("n_parameters")["model"].unique(maintain_order=True).to_list():
        rows = {r["basis"]: r for r in table.filter(pl.col("model") == model).iter_rows(
            named=True)}
        if {"mlp", "resid"} <= set(rows):
            lines.append(f"| {model} | {rows['mlp']['n_parameters']:,} | {cell(rows['mlp'])} | "
                         f"{cell(rows['resid'])} |")
    return [*lines, ""]


SEEDS_TEXT = (
    "A ladder rung trained again with another seed (`ladder.seeds`, model `{rung}-seed{s}`: its "
    "own initialisation and data order, the same tokens) says whether a neuron-level claim is a "
    "property of the rung or of one training run. Neuron indices are not comparable across "
    "seeds, so each claim is compared where it is made (`sparseprobe.summaries.seeds`): the "
    "feature's best single neuron, chosen on validation, reaches test F1 >= 0.9; it sits in the "
    "same layer; zeroing it raises the feature's loss (Holm-adjusted p < 0.05). Two seeds are "
    "not a distribution: a claim that holds in both may still fail in a third."
)
SEED_SUMMARY_NAMES = {
    "rung": "rung", "seeds": "models", "n_features": "binary features",
    "n_single_claims": "single-neuron claims", "n_single_hold": "hold in every seed",
    "n_same_layer": "best neuron in one layer", "n_ablation_claims": "ablation claims",
    "n_ablation_hold": "ablation claims holding",
}


def _ablation(run: Run) -> pl.DataFrame | None:
    path = run.results / "neurons" / run.model / "ablation_summary.parquet"
    return pl.read_parquet(path) if path.is_file() else None


def seed_claims_of(results: Path, config: str) -> pl.DataFrame | None:
    """:func:`~sparseprobe.summaries.seeds.seed_claims` of every rung of a results directory
    that has replicates, concatenated (None when it has none)."""
    from sparseprobe.summaries.seeds import replicates, seed_claims

    runs = {run.model: run for run in model_runs(results, config)}
    frames = []
    for rung, keys in replicates(runs).items():
        neurons = {key: runs[key].table("neurons") for key in keys}
        ablations = {key: a for key in keys if (a := _ablation(runs[key])) is not None}
        frames.append(seed_claims(neurons, rung, ablations))
    return pl.concat(frames) if frames else None


def seed_section(runs: list[Run]) -> list[str]:
    """Markdown lines: per results directory of ``runs`` with replicates, the per-rung counts of
    claims that hold in every seed, then each claim of the runs' own models with its seeds'
    values; a line saying how to get replicates when none of the runs has any."""
    from sparseprobe.summaries.seeds import seed_summary

    out, seen = [], set()
    for run in runs:
        if run.results.resolve() in seen:
            continue
        seen.add(run.results.resolve())
        claims = seed_claims_of(run.results, run.config)
        if claims is None:
            continue
        summary = seed_summary(claims).rename(SEED_SUMMARY_NAMES)
        out += [f"Replicates in `{run.config}` (results of commit `{run.commit()}`):", "",
                markdown(summary), ""]
        for own in [r for r in runs if r.results.resolve() == run.results.resolve()]:
            mine = claims.filter((pl.col("rung") == own.model)
                                 & (pl.col("claim_single")
                                    | pl.col("claim_ablation").fill_null(False)))
            if mine.height:
                out += [f"Claims about {own.model}, seed by seed ({mine['seeds'][0]}):", "",
                        markdown(mine.select(
                            "dataset", "feature", pl.col("f1").alias("test F1"), "layers",
                            pl.col("holds_single").alias("F1 >= 0.9 in every seed"),
                            pl.col("same_layer").alias("one layer"),
                            pl.col("claim_ablation").alias("ablation claim"),
                            pl.col("holds_ablation").alias("ablation in every seed"))), ""]
    if not out:
        out = ["None of these runs has replicates: add `ladder.seeds: [0, 1]` to the ladder's "
               "config (docs/ladder.md) and regenerate this page."]
    return out


def side_by_side(mine: pl.DataFrame, theirs: pl.DataFrame, a: str, b: str) -> pl.DataFrame:
    """One row per category, each metric of model ``a`` next to model ``b``'s."""
    joined = mine.join(theirs, on="category", how="full", coalesce=True, suffix="__b")
    columns = [pl.col("category")]
    for metric in SIDE_BY_SIDE:
        columns += [pl.col(metric).alias(f"{metric} {a}"), pl.col(f"{metric}__b").alias(f"{metric} {b}")]
    return joined.select(columns).sort("category")


def shape_of(run: Run) -> str:
    best = run.table("best_layers")
    return f"{best['n_layers'][0]} layers x {best['d_mlp'][0]:,} neurons"


def neuron_section(run: Run, n: int) -> list[str]:
    """The model's ``n`` most specific candidate neurons, at most one per feature
    (:func:`sparseprobe.summaries.neurons.candidate_neurons` on the model's probe table:
    validation F1 >= CANDIDATE_MIN_F1, ranked by margin over the neuron's other features divided
    by how many neurons reach the threshold), each with its test F1 and top contexts."""
    from sparseprobe.summaries.neurons import candidate_neurons

    candidates = candidate_neurons(run.table("probes"), CANDIDATE_MIN_F1, per_feature=1).head(n)
    out = ["| rank | dataset / feature | layer | neuron | val F1 | test F1 | neurons >= "
           f"{CANDIDATE_MIN_F1} | next feature (val F1) | top contexts |",
           "|---|---|---|---|---|---|---|---|---|"]
    if candidates.is_empty():
        return [f"No single neuron reaches validation F1 {CANDIDATE_MIN_F1} for any feature."]
    for row in candidates.iter_rows(named=True):
        contexts = "<br>".join(top_contexts(run, row))
        other = ("-" if row["other_feature"] is None
                 else f"{row['other_feature']} ({row['other_val_f1']:.3f})")
        out.append(f"| {row['rank']} | {row['dataset']} / {row['feature']} | {row['layer']} | "
                   f"{row['neuron']} | {row['val_f1']:.3f} | {_fmt(row['test_f1'])} | "
                   f"{row['n_neurons']} | {other} | {contexts} |")
    return out
