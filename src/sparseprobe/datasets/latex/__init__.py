"""The paper's LaTeX category: which LaTeX context each token of raw LaTeX source sits in.

One module per idea:

- ``regions``: the region parser (math, sub/superscripts, fractions, title, author, abstract,
  references) and what it ignores (comments, verbatim material);
- ``labels``: the 12 features; pre-token units labelled by the regions they overlap;
- ``sources``: reading sdist/tarball ``.tex`` files and arXiv e-prints;
- ``datasets``: the builders (Biopython's LaTeX documentation offline, arXiv e-prints).

The labels say where a token sits in the *source*; they do not establish that a model
represents LaTeX structure rather than surface cues such as a nearby ``$``.
"""

from sparseprobe.datasets.latex.datasets import build_latex, build_latex_arxiv
from sparseprobe.datasets.latex.labels import (
    BIOPYTHON_FEATURES,
    FEATURES,
    LabelledDocument,
    label_document,
)
from sparseprobe.datasets.latex.regions import Region, ignored_spans, latex_regions, mask_ignored
from sparseprobe.datasets.latex.sources import (
    flatten_eprint,
    main_file,
    read_archive_tex,
    read_eprint,
)

__all__ = [
    "BIOPYTHON_FEATURES", "FEATURES", "LabelledDocument", "Region", "build_latex",
    "build_latex_arxiv", "flatten_eprint", "ignored_spans", "label_document", "latex_regions",
    "main_file", "mask_ignored", "read_archive_tex", "read_eprint",
]
