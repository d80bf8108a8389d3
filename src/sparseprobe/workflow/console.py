"""What a run prints: one line per job (its stage and what it works on) and a closing summary.

The Snakefile gives every rule the message of :func:`job_message` (Snakemake then prints
"Job N: <message>" instead of the job's inputs, outputs and wildcards) and prints
:func:`closing_summary` when the run succeeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: what each rule does, as the console names its stage (a rule not listed shows its name)
STAGES = {
    "all": "all targets",
    "fetch_source": "fetch source",
    "build_dataset": "build dataset",
    "ladder_corpus": "ladder corpus",
    "ladder_tokenizer": "ladder tokenizer",
    "ladder_train": "train model",
    "unpack_model": "unpack model",
    "model_fingerprint": "fingerprint model",
    "extract_activations": "extract activations",
    "extract_activations_per_dataset": "extract activations",
    "probe_layers": "probe layers",
    "probe_layers_per_dataset": "probe layers",
    "model_summary": "summarise model",
    "neuron_tables": "neuron tables",
    "scaling_summary": "scaling table",
    "family_tables": "family tables",
    "training_summary": "training table",
    "compare_bases": "compare bases",
    "plot_model": "figures and tables",
    "plot_family": "family figures",
    "plot_training": "training figures",
    "neuron_case_studies": "neuron case studies",
    "neuron_ablation": "neuron ablation",
    "results_page": "results page",
}
#: the wildcards a job line names, in this order (others follow in the rule's order)
WILDCARD_ORDER = ("model", "family", "dataset", "layers", "entry")
_WIDTH = max(map(len, STAGES.values()))


def job_message(rule: str, wildcards: Iterable[str]) -> str:
    """The console line of a job of ``rule``: its stage, padded, then its wildcards as
    Snakemake formats them ("probe layers         ladder-3 / latex / layers 0-1")."""
    names = list(wildcards)
    ordered = [w for w in WILDCARD_ORDER if w in names] + [
        w for w in names if w not in WILDCARD_ORDER]
    parts = [f"layers {{wildcards.{w}}}" if w == "layers" else f"{{wildcards.{w}}}"
             for w in ordered]
    stage = STAGES.get(rule, rule.replace("_", " "))
    return f"{stage:<{_WIDTH}}  {' / '.join(parts)}".rstrip()


def closing_summary(largest: str, families: Sequence[str], datasets: Sequence[str]) -> str:
    """Where a finished run's results are, how to open them and what to look at first
    (``largest``: the model whose figures and neurons to open first)."""
    lines = [
        "",
        "sparseprobe: the run is complete.",
        "  results:  results/ (summaries/: the tables; plots/: the figures; neurons/: case "
        "studies)",
        "  report:   snakemake --report report.html   (then open report.html in a browser; "
        "it needs no network)",
        "  look first at:",
    ]
    for family in families:
        lines.append(f"    results/plots/families/{family}/summary.png   "
                     "(sparsity statistics against model size)")
    for dataset in list(datasets)[:1]:
        if families:
            lines.append(f"    results/plots/families/{families[0]}/features__{dataset}.png   "
                         "(per feature, F1 against size)")
        lines.append(f"    results/plots/models/{largest}/heatmap__{dataset}.png   "
                     "(F1 over features x layers)")
    lines += [
        f"  candidate neurons:  sparseprobe neurons --model {largest}",
        f"  per-model means:    sparseprobe summary --family {families[0]}" if families else
        "  one model's best neurons:  sparseprobe neurons --best --model " + largest,
        "",
    ]
    return "\n".join(lines)
