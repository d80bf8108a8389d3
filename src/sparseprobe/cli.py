"""``sparseprobe``: answer the daily questions from a finished run's ``results/`` directory.

    sparseprobe neurons --model M [--feature F] [--dataset D] [--min-f1 X] [--per-feature N]
    sparseprobe neurons --model M --best
    sparseprobe summary --family F [--category C]
    sparseprobe compare M1 M2
    sparseprobe verify [--fix]
    sparseprobe diff RESULTS_A RESULTS_B
    sparseprobe timings [RESULTS]
    sparseprobe results-doc [--model minilm] [--compare ladder-7 --compare-results DIR]

Every command prints one table (``--format table|csv|json``) computed by the same functions as
the workflow's tables (sparseprobe.summaries) from ``--results DIR`` (default ``results``). A
model, dataset, feature, family or category that is not there is an error that lists what is,
with exit code 2. ``diff`` prints what differs between two result trees
(sparseprobe.workflow.compare: tolerance 0, timing columns, figures, logs and benchmarks left
out) and exits 1 when anything does, 0 when they agree. The numbers carry the caveats of docs/summaries.md (best layer and best
neuron are chosen on the test split).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from sparseprobe import summaries
from sparseprobe.errors import SparseProbeError, SummaryError
from sparseprobe.summaries.neurons import (
    CANDIDATE_COLUMNS,
    RANK_METRIC,
    candidate_neurons,
    context_pages,
)

_NEURON_DISPLAY = ["dataset", "category", "feature", "layer", "relative_depth", "neuron",
                   "method", "mcc", "f1", "precision", "recall", "coef"]
_CANDIDATE_DISPLAY = [c.replace("score", RANK_METRIC) for c in CANDIDATE_COLUMNS
                      if c not in ("category", "mcc")]
#: float columns that hold counts or k (medians of k may be whole numbers): shown as integers
#: when every value is whole
_WHOLE = re.compile(r"^(median_)?k_\d+|^n_|_k_\d+$")
_SUMMARY_DISPLAY = ["model", "n_parameters", "n_layers", "category", "n_features", "mean_f1_k1",
                    "mean_f1_single", "mean_f1_dense", "mean_gap", "median_k_90", "median_k_95",
                    "n_single_f1_ge_0_9"]


def _unknown(kind: str, name: str, known: Sequence[str], where: Path | str) -> SummaryError:
    listed = ", ".join(sorted(known)) or "none"
    return SummaryError(f"unknown {kind} '{name}' in {where}; there are: {listed}")


def _model_probes(results: Path, model: str) -> pl.DataFrame:
    models_dir = results / "summaries" / "models"
    known = sorted(p.parent.name for p in models_dir.glob("*/probes.parquet"))
    if model not in known:
        raise _unknown("model", model, known, models_dir)
    return summaries.read_probe_summaries([models_dir / model / "probes.parquet"])


def _check_choice(kind: str, name: str | None, frame: pl.DataFrame, column: str,
                  where: str) -> None:
    if name is not None:
        known = frame[column].unique().to_list()
        if name not in known:
            raise _unknown(kind, name, known, where)


def neurons(args: argparse.Namespace) -> pl.DataFrame:
    """The model's candidate neurons (sparseprobe.summaries.neurons.candidate_neurons): one row
    per neuron reaching ``--min-f1``, most specific first, at most ``--per-feature`` per
    feature, with its top-context page where the run wrote one; with ``--best`` the best single
    neuron per binary feature instead (table 3)."""
    probes = _model_probes(args.results, args.model)
    where = f"model {args.model}"
    _check_choice("dataset", args.dataset, probes, "dataset", where)
    if args.dataset is not None:
        probes = probes.filter(pl.col("dataset") == args.dataset)
        where += f", dataset {args.dataset}"
    _check_choice("feature", args.feature, probes, "feature", where)
    if args.feature is not None:
        probes = probes.filter(pl.col("feature") == args.feature)
    if args.best:
        return summaries.best_neurons(probes)
    pages = context_pages(args.results / "neurons" / args.model / "case_studies.parquet")
    return candidate_neurons(probes, args.min_f1, per_feature=args.per_feature,
                             context_pages=pages)


def summary(args: argparse.Namespace) -> pl.DataFrame:
    """Per-model means of one family (table 6), for one category (default: ``all``)."""
    scaling_dir = args.results / "summaries" / "scaling"
    path = scaling_dir / f"{args.family}__models.parquet"
    if not path.is_file():
        known = [p.name.removesuffix("__models.parquet")
                 for p in scaling_dir.glob("*__models.parquet")]
        raise _unknown("family", args.family, known, scaling_dir)
    table = pl.read_parquet(path)
    _check_choice("category", args.category, table, "category", f"family {args.family}")
    return table.filter(pl.col("category") == args.category).sort("n_parameters", "model")


def compare(args: argparse.Namespace) -> pl.DataFrame:
    """Per binary feature of two models: best-layer k=1 F1, best single-neuron F1 and dense F1
    of each and the difference (second minus first). Features only one model has get nulls."""
    first, second = args.models
    probes = pl.concat([_model_probes(args.results, m) for m in dict.fromkeys(args.models)])
    table = summaries.scaling_table(probes, [1]).filter(pl.col("task") == "classification")
    keys = ["dataset", "category", "feature"]
    metrics = ["f1_k1", "f1_single", "f1_dense"]

    def side(model: str) -> pl.DataFrame:
        return table.filter(pl.col("model") == model).select(
            *keys, *[pl.col(m).alias(f"{m}.{model}") for m in metrics])

    out = side(first).join(side(second), on=keys, how="full", coalesce=True, suffix=".2")
    second_name = second if second != first else f"{second}.2"
    columns = []
    for m in metrics:
        diff = (pl.col(f"{m}.{second_name}") - pl.col(f"{m}.{first}")).alias(f"{m}.diff")
        columns += [pl.col(f"{m}.{first}"), pl.col(f"{m}.{second_name}"), diff]
    return out.select(*keys, *columns).sort(keys)


def verify(args: argparse.Namespace) -> pl.DataFrame:
    """Every bad store, fingerprint or Parquet file under ``--results`` with why and the
    command that rebuilds it (sparseprobe.workflow.verify); ``--fix`` removes them and what was
    built from them, listed on stderr."""
    from sparseprobe.workflow.verify import fix, verify_results

    problems = verify_results(args.results)
    if args.fix and problems:
        for path in fix(problems, args.results.parent):
            print(f"removed {path}", file=sys.stderr)
    return pl.DataFrame({"path": [str(p.path) for p in problems],
                         "problem": [p.reason for p in problems],
                         "rebuild": [p.rebuild for p in problems]}, schema={
                             "path": pl.String, "problem": pl.String, "rebuild": pl.String})


def results_doc(args: argparse.Namespace) -> int:
    """Write docs/results.md (``--output``) from the model's and the comparison model's tables."""
    from sparseprobe.report.results_doc import Run, render_results

    model = Run(args.model, args.results, args.config)
    other = Run(args.compare, args.compare_results or args.results, args.compare_config)
    text = render_results(model, other)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.splitlines())} lines)")
    return 0


def render(table: pl.DataFrame, fmt: str, display: list[str] | None = None) -> str:
    """The table as an aligned text table (``display`` columns, 3 decimals), CSV or JSON rows."""
    if fmt == "csv":
        return table.write_csv()
    if fmt == "json":
        return table.write_json() + "\n"
    table = whole_numbers(table)
    shown = table.select([c for c in display if c in table.columns]) if display else table
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_column_data_types=True,
                   tbl_hide_dataframe_shape=True, tbl_formatting="ASCII_MARKDOWN",
                   float_precision=3, tbl_width_chars=10_000, fmt_str_lengths=200):
        return f"{shown}\n({table.height} rows)\n"


def whole_numbers(table: pl.DataFrame) -> pl.DataFrame:
    """``table`` with its float columns of counts or k (median_k_90, n_...) as integers when
    every value is whole: a median k of 2 reads "2", not "2.000"."""
    casts = [pl.col(name).cast(pl.Int64) for name, dtype in table.schema.items()
             if dtype.is_float() and _WHOLE.search(name)
             and _whole(table[name])]
    return table.with_columns(casts) if casts else table


def _whole(values: pl.Series) -> bool:
    values = values.drop_nulls().drop_nans()
    return bool((values == values.round()).all())


def diff(args: argparse.Namespace) -> int:
    """Print every difference between two result trees; 1 if there is one, else 0."""
    from sparseprobe.workflow.compare import differences

    found = 0
    for difference in differences(args.trees[0], args.trees[1]):
        print(difference)
        found += 1
    if found:
        print(f"{found} differences between {args.trees[0]} and {args.trees[1]}", file=sys.stderr)
        return 1
    print(f"{args.trees[0]} and {args.trees[1]} agree (tolerance 0, timing columns left out)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--format", choices=["table", "csv", "json"], default="table",
                        help="output format (default: table)")
    common.add_argument("--results", type=Path, default=Path("results"),
                        help="the workflow's results directory (default: results)")
    parser = argparse.ArgumentParser(prog="sparseprobe", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser(
        "neurons", parents=[common],
        help="candidate neurons of a model, most feature-specific first",
        description="One row per neuron whose single-neuron probe reaches --min-f1 for a "
        "feature, ranked by specificity: its margin over the same neuron's best score for "
        "another feature of the dataset, divided by the number of neurons reaching the "
        f"threshold for the feature (ranking column: {RANK_METRIC}).")
    p.add_argument("--model", required=True, help="a model of the run (results/summaries/models)")
    p.add_argument("--feature", help="only this feature")
    p.add_argument("--dataset", help="only this dataset's features")
    p.add_argument("--min-f1", type=float, default=0.8,
                   help=f"the {RANK_METRIC} a neuron must reach to be a candidate (default: 0.8)")
    p.add_argument("--per-feature", type=int, default=3, metavar="N",
                   help="at most N neurons per feature, the most specific (default: 3; 0: all)")
    p.add_argument("--best", action="store_true",
                   help="the best single neuron of every binary feature instead (table 3)")
    p.set_defaults(run=neurons, display=None)
    p = commands.add_parser("summary", parents=[common], help="per-model means of a family")
    p.add_argument("--family", required=True,
                   help="a model family with two or more models (results/summaries/scaling)")
    p.add_argument("--category", default="all", help="a feature category (default: all)")
    p.set_defaults(run=summary, display=_SUMMARY_DISPLAY)
    p = commands.add_parser("compare", parents=[common],
                            help="per-feature F1 of two models side by side")
    p.add_argument("models", nargs=2, metavar="MODEL",
                   help="two models of the run; differences are the second minus the first")
    p.set_defaults(run=compare, display=None)
    p = commands.add_parser("verify", parents=[common],
                            help="check every cached store and table; exit 1 if one is bad")
    p.add_argument("--fix", action="store_true",
                   help="remove the bad files and what was built from them (then: snakemake)")
    p.set_defaults(run=verify, display=None)
    p = commands.add_parser("diff", help="do two result trees agree (exit 1 when not)")
    p.add_argument("trees", nargs=2, type=Path, metavar="RESULTS",
                   help="two results directories")
    p.set_defaults(run=None, command_run=diff)
    from sparseprobe.workflow import timings

    p = commands.add_parser("timings", parents=[common],
                            help="job time and start-up per workflow step of a finished run")
    p.add_argument("run_results", nargs="?", type=Path, metavar="RESULTS",
                   help="the run's results directory (default: --results)")
    p.set_defaults(run=timings.command, display=None)

    p = commands.add_parser("results-doc", parents=[common],
                            help="write docs/results.md from a model's and a comparison's tables")
    p.add_argument("--model", default="minilm", help="the model described (default: minilm)")
    p.add_argument("--config", default="config/minilm.yaml",
                   help="the config that produced --results (named in the document)")
    p.add_argument("--compare", default="ladder-7",
                   help="the comparison model (default: ladder-7)")
    p.add_argument("--compare-results", type=Path,
                   help="the comparison model's results directory (default: --results)")
    p.add_argument("--compare-config", default="config/config.yaml",
                   help="the config that produced the comparison's results "
                   "(default: config/config.yaml)")
    p.add_argument("--output", type=Path, default=Path("docs/results.md"),
                   help="the document written (default: docs/results.md)")
    p.set_defaults(run=results_doc, display=None, writes=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; print its table to stdout. Returns 0, or 2 on a usage or name error;
    ``verify`` returns 1 when it found a bad file and did not ``--fix`` it, ``diff`` 1 when the
    trees differ."""
    args = build_parser().parse_args(argv)
    if getattr(args, "command_run", None) is not None:
        return args.command_run(args)
    try:
        table = args.run(args)
    except SparseProbeError as error:
        print(f"sparseprobe {args.command}: error: {error}", file=sys.stderr)
        return 2
    if getattr(args, "writes", False):
        return table
    display = args.display
    if args.command == "neurons":
        display = _NEURON_DISPLAY if args.best else _CANDIDATE_DISPLAY
    sys.stdout.write(render(table, args.format, display))
    return 1 if args.command == "verify" and table.height and not args.fix else 0


if __name__ == "__main__":
    sys.exit(main())
