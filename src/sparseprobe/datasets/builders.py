"""The registry of feature-dataset builders: one line per config ``builder`` name.

Adding a dataset: write its builder in one module of this package and add one line to
:data:`BUILDERS`.

- ``natural_language``: language identification from Django's translation catalogues. Each
  example packs one language's messages into about ``chars_per_example`` characters; one
  one-vs-rest feature per language; read as the mean over all tokens (the paper's EuroParl task).
  ``natural_language_europarl``: the same from the Europarl release files (the paper's source)
  (``sparseprobe.datasets.natural_language``).
- ``compound_words``, ``wikidata``, ``code_language``, ``data_subset``: sae-probes sets
  (``sparseprobe.datasets.sae_probes``).
- ``code_language_pygments``: one-vs-rest over the languages of Pygments' example files (PyPI
  sdist); ``code_language_github``: the same over GitHub code dumps you provide, the paper's
  source (``sparseprobe.datasets.code``, a package).
- ``text_features``: the paper's token-string predicates (``sparseprobe.datasets.text_features``).
- ``latex``: regions of LaTeX source (math, sub/superscripts, fractions, ...) in Biopython's
  LaTeX documentation (PyPI sdist); ``latex_arxiv``: the same over arXiv e-prints you provide
  (``sparseprobe.datasets.latex``, a package).
- ``position``: a token's position, as a regression target and as bins
  (``sparseprobe.datasets.position``).
- ``part_of_speech``, ``morphology``: the gold-tagged Brown corpus mapped to UPOS / UD
  features (``part_of_speech_morphology``: both on the same words, one dataset);
  ``*_conllu``: the paper's UD English EWT (CoNLL-U files you provide)
  (``sparseprobe.datasets.tagged``, a package: reader, labels, sampling).
- ``dependencies``: SILVER dependency relations, Brown sentences parsed by spaCy's
  en_core_web_sm (ClearNLP labels, not UD; ``sparseprobe.datasets.silver``).
- ``text_features_pile``, ``compound_words_pile``, ``wikidata_pile``: the paper's own
  constructions from Pile shards you provide (``sparseprobe.datasets.pile``, a package).
- ``table``: your own CSV/Parquet/JSONL file; ``class_table``: one-vs-rest over a class column,
  which also reads the paper's original corpora (Pile shards, Europarl, GitHub code dumps)
  (``sparseprobe.datasets.table``).

All are deterministic functions of their source, the config and the seed.
"""

from __future__ import annotations

from functools import partial

from sparseprobe.datasets.code import build_code_language, build_code_language_github
from sparseprobe.datasets.latex import build_latex, build_latex_arxiv
from sparseprobe.datasets.natural_language import (
    build_natural_language,
    build_natural_language_europarl,
)
from sparseprobe.datasets.pile import (
    build_compound_words_pile,
    build_text_features_pile,
    build_wikidata_pile,
)
from sparseprobe.datasets.position import build_position, build_position_pile
from sparseprobe.datasets.sae_probes import build_binary_sets, build_data_subset
from sparseprobe.datasets.silver import build_dependencies_silver
from sparseprobe.datasets.table import build_class_table, build_table
from sparseprobe.datasets.tagged import (
    build_dependencies_conllu,
    build_morphology_brown,
    build_morphology_conllu,
    build_part_of_speech_brown,
    build_part_of_speech_conllu,
    build_part_of_speech_morphology_brown,
)
from sparseprobe.datasets.text_features import build_text_features

BUILDERS = {
    "natural_language": build_natural_language,
    "natural_language_europarl": build_natural_language_europarl,
    "compound_words": partial(build_binary_sets, category="compound_words"),
    "wikidata": partial(build_binary_sets, category="wikidata"),
    "code_language": partial(build_binary_sets, category="code_language"),
    "code_language_pygments": build_code_language,
    "code_language_github": build_code_language_github,
    "data_subset": build_data_subset,
    "text_features": build_text_features,
    "position": build_position,
    "position_pile": build_position_pile,
    "latex": build_latex,
    "latex_arxiv": build_latex_arxiv,
    "part_of_speech": build_part_of_speech_brown,
    "morphology": build_morphology_brown,
    "part_of_speech_morphology": build_part_of_speech_morphology_brown,
    "dependencies": build_dependencies_silver,
    "part_of_speech_conllu": build_part_of_speech_conllu,
    "morphology_conllu": build_morphology_conllu,
    "dependencies_conllu": build_dependencies_conllu,
    "text_features_pile": build_text_features_pile,
    "compound_words_pile": build_compound_words_pile,
    "wikidata_pile": build_wikidata_pile,
    "table": build_table,
    "class_table": build_class_table,
}
"""Builder per config ``builder`` name: called as builder(source, out_dir, test_fraction=...,
seed=..., name=..., **the dataset's config entry); ``source`` is the pinned archive, the user's
table, or (``*_conllu``) the list of CoNLL-U files."""
