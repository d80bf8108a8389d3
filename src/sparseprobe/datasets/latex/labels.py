"""Labelling LaTeX source: pre-token units, each labelled by the regions it overlaps.

The paper read arXiv LaTeX *source* and labelled each token by the construct around it. Here
the unit is a pre-token of the source text (:func:`sparseprobe.datasets.text_features.pre_tokens`,
so any tokenizer works; aggregation ``last`` reads the unit's last token) and the label comes
from a small region parser of our own (:func:`latex_regions`). The 12 features:

``is_title`` / ``is_author``
    inside the braced argument of ``\\title{...}`` / ``\\author{...}`` (optional ``[...]``
    arguments skipped; several ``\\author`` commands each count).
``is_abstract``
    inside ``\\begin{abstract} ... \\end{abstract}`` or the argument of ``\\abstract{...}``.
``is_reference``
    inside ``\\begin{thebibliography}{..} ... \\end{thebibliography}`` (every ``\\bibitem`` and
    its text). An arXiv ``\\bibliography{..}`` is replaced by the e-print's ``.bbl``, as arXiv does.
``is_superscript`` / ``is_subscript``
    inside the argument of ``^`` / ``_`` in math mode: a braced group ``^{...}``, one control
    word ``^\\prime`` or one character ``x^2``; also ``\\textsuperscript{..}`` /
    ``\\textsubscript{..}``. Outside math ``^``/``_`` are not scripts (labels, file names).
``is_frac`` / ``is_numerator`` / ``is_denominator``
    from ``\\frac`` (``\\dfrac \\tfrac \\cfrac``) to the end of its denominator, in math mode;
    the numerator / denominator is the first / second argument (braced group, control word or
    one character, as TeX reads them). Scripts and fractions nest: ``x^{\\frac{a}{b}}`` marks
    ``a`` as superscript, frac and numerator.
``is_inline_math``
    between ``$ ... $``, ``\\( ... \\)`` and in ``\\begin{math}``.
``is_display_math``
    between ``$$ ... $$``, ``\\[ ... \\]`` and in the display environments of
    :data:`DISPLAY_ENVIRONMENTS` (equation, align, gather, multline, eqnarray, displaymath and
    their starred forms).
``is_math``
    inline or display math.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sparseprobe.datasets.latex.regions import RegionScanner, mask_ignored
from sparseprobe.datasets.text_features import pre_tokens

FEATURES = (
    "is_title", "is_author", "is_abstract", "is_reference", "is_superscript", "is_subscript",
    "is_frac", "is_numerator", "is_denominator", "is_math", "is_inline_math",
    "is_display_math",
)
"""The paper's 12 LaTeX features, in its order."""

BIOPYTHON_FEATURES = (
    "is_math", "is_inline_math", "is_display_math", "is_subscript", "is_superscript",
    "is_frac", "is_numerator", "is_denominator",
)
"""The features the offline Biopython source supports with a document-grouped split."""


# ---------------------------------------------------------------------------------------------
# Units and labels


@dataclass(frozen=True)
class LabelledDocument:
    """A LaTeX source, its candidate units and each unit's label per feature."""

    name: str
    text: str
    units: np.ndarray  # (n, 2) int64 character spans of the candidate units
    labels: dict[str, np.ndarray]  # feature -> (n,) bool
    unit_starts: np.ndarray  # starts of every pre-token (window boundaries)


def _coverage(length: int, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Prefix sums of a character mask: covered chars in [s, e) = c[e] - c[s]."""
    mask = np.zeros(length + 1, dtype=np.int32)
    for start, end in spans:
        mask[start] += 1
        mask[end] -= 1
    covered = np.cumsum(mask[:-1]) > 0
    return np.concatenate([[0], np.cumsum(covered)])


def label_document(name: str, text: str) -> LabelledDocument:
    """Parse one LaTeX source and label its candidate units (non-blank pre-tokens that do not
    touch a comment or verbatim material) for every feature of :data:`FEATURES`."""
    clean, ignored = mask_ignored(text)
    regions = RegionScanner(clean).run()
    spans = np.asarray(pre_tokens(text), dtype=np.int64).reshape(-1, 2)
    starts, ends = spans[:, 0], spans[:, 1]
    ignored_cov = _coverage(len(text), ignored)
    blank = np.array([text[s:e].isspace() for s, e in spans], dtype=bool)
    keep = ~blank & ((ignored_cov[ends] - ignored_cov[starts]) == 0)
    units = spans[keep]
    by_feature: dict[str, list[tuple[int, int]]] = {f: [] for f in FEATURES}
    for region in regions:
        by_feature[region.feature].append((region.start, region.end))
    by_feature["is_math"] = by_feature["is_inline_math"] + by_feature["is_display_math"]
    labels = {}
    for feature in FEATURES:
        cov = _coverage(len(text), by_feature[feature])
        labels[feature] = (cov[units[:, 1]] - cov[units[:, 0]]) > 0
    return LabelledDocument(name, text, units, labels, starts.copy())
