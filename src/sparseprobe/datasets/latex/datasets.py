"""The LaTeX datasets: Biopython's LaTeX documentation (offline) and arXiv e-prints (the
paper's source).

Sources
-------
``build_latex`` (offline): the LaTeX documentation shipped in the Biopython 1.81 source
distribution (PyPI sdist ``biopython==1.81``, sha256
2cf38112b6d8415ad39d6a611988cd11fb5f33eb09346666a87263beba9614e0; Biopython License Agreement,
a permissive notice-only licence). Its ``Doc/`` holds 26 real LaTeX files (about 1.2 MB): the
Biopython Tutorial and Cookbook (``Doc/Tutorial.tex`` with title, authors and a 43-entry
thebibliography, and the 23 chapter files it includes, with prose, code listings and the
mathematics of clustering, motifs, supervised learning and growth-curve fitting), the Bio.PDB
FAQ and a short API note. Each file is one document (the split unit). Positive units of
141,160 candidates (measured), and the files they come from:

==================  =========  =====  ============================================
feature             positives  files  use with a document-grouped split
==================  =========  =====  ============================================
is_math                 1,916     15  yes
is_inline_math          1,064     15  yes
is_display_math           852      3  yes
is_subscript              238      6  yes
is_frac                   254      5  yes
is_denominator            104      5  yes
is_superscript            106      4  yes
is_numerator               84      5  yes (examples x positive_fraction <= 84)
is_author                  90      2  no: one author list per side at best
is_title                   34      2  no: one title per side at best
is_reference            2,360      1  no: the whole bibliography is one file
is_abstract                 0      0  no
==================  =========  =====  ============================================

:data:`BIOPYTHON_FEATURES` lists the supported eight. A feature with too few positive units,
or with all of them in one document, raises a DatasetError naming the feature, the count and
the documents; ``is_author`` and ``is_title`` pass that check but usually fail the split (a
single class on one side). Use ``build_latex_arxiv`` for all 12.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sparseprobe.datasets.latex.labels import FEATURES, LabelledDocument, label_document
from sparseprobe.datasets.latex.sources import (
    flatten_eprint,
    main_file,
    read_archive_tex,
    read_eprint,
    select_documents,
)
from sparseprobe.datasets.sampling import Sampling
from sparseprobe.datasets.schema import FeatureDataset, document_id
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import sha256_of

# ---------------------------------------------------------------------------------------------
# Building


def _check_request(name: str, features: Sequence[str], sampling: Sampling,
                   max_chars: int) -> None:
    sampling.check(name, features, FEATURES, "LaTeX")
    if max_chars < 20:
        raise DatasetError(f"dataset '{name}': max_chars must be >= 20, got {max_chars}")


def _build(documents: list[LabelledDocument], out_dir: Path, *, name: str, source: str,
           features: Sequence[str], max_chars: int, sampling: Sampling,
           meta: dict) -> FeatureDataset:
    unit_doc = np.concatenate([np.full(len(d.units), i, np.int64)
                               for i, d in enumerate(documents)])
    unit_index = np.concatenate([np.arange(len(d.units), dtype=np.int64) for d in documents])
    doc_ids = [document_id(d.text) for d in documents]
    rows = []
    available = {}
    for feature in features:
        flags = np.concatenate([d.labels[feature] for d in documents])
        pos_idx, neg_idx = np.flatnonzero(flags), np.flatnonzero(~flags)
        pos_docs = sorted({documents[i].name for i in np.unique(unit_doc[pos_idx])})
        available[feature] = {"positive": int(pos_idx.size), "negative": int(neg_idx.size),
                              "positive_documents": len(pos_docs)}
        chosen = sampling.draw(name, feature, pos_idx, neg_idx, units="units", source=source)
        if len(pos_docs) < 2:
            raise DatasetError(
                f"dataset '{name}': feature '{feature}' has its {pos_idx.size} positive units "
                f"in {len(pos_docs)} document(s) {pos_docs} of {source}; a split grouped by "
                "document needs positives in at least 2 documents"
            )
        for unit, label in chosen:
            doc = documents[unit_doc[unit]]
            start, end = (int(x) for x in doc.units[unit_index[unit]])
            first = min(int(np.searchsorted(doc.unit_starts, end - max_chars)),
                        len(doc.unit_starts) - 1)
            window = min(int(doc.unit_starts[first]), start)
            rows.append((feature, label, doc_ids[unit_doc[unit]], doc.text[window:end],
                         start - window, end - window))
    return sampling.write(
        rows, out_dir, name=name, category="latex", meta=meta, max_chars=max_chars,
        available=available,
        documents={d.name: doc_id for d, doc_id in zip(documents, doc_ids)},
    )


_DESCRIPTION = ("LaTeX context of the span's pre-token in raw LaTeX source (title, author, "
                "abstract, bibliography, super/subscript, fraction parts, inline/display "
                "math), one-vs-rest per feature, read at the span's last token; the text is "
                "the source up to and including the span.")


def build_latex(source: Path, out_dir: Path, *, features: list[str], max_chars: int = 1000,
                name: str = "latex", documents: list[str] | None = None,
                **sampling: Any) -> FeatureDataset:
    """LaTeX features from the .tex files of a pinned archive (the biopython 1.81 sdist by
    default config), each file one document. ``documents`` restricts the files (paths below
    the archive's top folder, e.g. ``Doc/Tutorial/chapter_cluster.tex``, or a trailing part of
    one); ``sampling``: the fields of :class:`~sparseprobe.datasets.sampling.Sampling`.
    Features the files cannot support raise a DatasetError naming the count."""
    sampling = Sampling(**sampling)
    _check_request(name, features, sampling, max_chars)
    source = Path(source)
    files = select_documents(name, source, read_archive_tex(source), documents)
    labelled = [label_document(member, text) for member, text in files.items()]
    return _build(
        labelled, out_dir, name=name, source=source.name, features=features,
        max_chars=max_chars, sampling=sampling,
        meta={"description": _DESCRIPTION, "source": f"LaTeX files of {source.name}",
              "source_sha256": sha256_of(source)},
    )


def build_latex_arxiv(paths: list[Path], out_dir: Path, *, features: list[str],
                      max_chars: int = 1000, name: str = "latex",
                      **sampling: Any) -> FeatureDataset:
    """LaTeX features from arXiv e-prints (the paper's source): each path one e-print as
    arXiv serves it, flattened from its main file (see :func:`flatten_eprint`); one e-print is
    one document."""
    sampling = Sampling(**sampling)
    _check_request(name, features, sampling, max_chars)
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise DatasetError(f"dataset '{name}': no arXiv e-prints given")
    labelled = []
    for path in paths:
        files = read_eprint(path)
        text = flatten_eprint(path, files, main_file(path, files))
        labelled.append(label_document(path.name, text))
    return _build(
        labelled, out_dir, name=name, source=f"{len(paths)} arXiv e-print(s)",
        features=features, max_chars=max_chars, sampling=sampling,
        meta={"description": _DESCRIPTION, "source": "arXiv e-prints "
              + ", ".join(p.name for p in paths),
              "source_sha256": {p.name: sha256_of(p) for p in paths}},
    )
