"""The LaTeX category: the region parser, the offline builder (biopython sdist layout) and the
arXiv e-print builder."""

import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from sparseprobe.datasets.latex import (
    BIOPYTHON_FEATURES,
    FEATURES,
    build_latex,
    build_latex_arxiv,
    flatten_eprint,
    ignored_spans,
    label_document,
    latex_regions,
    main_file,
    mask_ignored,
    read_archive_tex,
    read_eprint,
)
from sparseprobe.errors import DatasetError, SourceError

FIXTURES = Path(__file__).parent / "fixtures" / "latex"
CHAPTERS = ["scores", "cluster", "growth", "motifs", "learning", "alignments"]


def found(text: str) -> dict[str, list[str]]:
    """feature -> the source substrings of its regions, in order."""
    out: dict[str, list[str]] = {}
    for region in latex_regions(text):
        out.setdefault(region.feature, []).append(text[region.start:region.end])
    return out


# ---------------------------------------------------------------------------------------------
# The region parser


def test_title_and_author_with_options_and_nested_braces():
    text = ("\\title[Short]{A {Nested} Title with $x^2$}\n"
            "\\author{Ada \\and Alan\\thanks{Funded by {X}}}\n\\maketitle")
    got = found(text)
    assert got["is_title"] == ["A {Nested} Title with $x^2$"]
    assert got["is_author"] == ["Ada \\and Alan\\thanks{Funded by {X}}"]
    assert got["is_inline_math"] == ["x^2"]
    assert got["is_superscript"] == ["2"]


def test_frac_inside_superscript_nests():
    got = found("$x^{\\frac{a+1}{b}} + y_{\\frac12}$")
    assert got["is_superscript"] == ["\\frac{a+1}{b}"]
    assert got["is_subscript"] == ["\\frac12"]
    assert got["is_frac"] == ["\\frac{a+1}{b}", "\\frac12"]
    assert got["is_numerator"] == ["a+1", "1"]
    assert got["is_denominator"] == ["b", "2"]
    assert got["is_inline_math"] == ["x^{\\frac{a+1}{b}} + y_{\\frac12}"]


def test_single_character_and_control_word_scripts():
    got = found("$a_i + b^2 + c^\\prime + d_{ij}^{k}$")
    assert got["is_subscript"] == ["i", "ij"]
    assert got["is_superscript"] == ["2", "\\prime", "k"]


def test_escaped_dollar_is_text():
    got = found("It costs \\$5 and \\$6, while $y$ is math.")
    assert got == {"is_inline_math": ["y"]}


def test_comments_containing_dollar_are_ignored():
    text = "% a $ in a comment with x^2\n$z$ and 50\\% of $w$ % trailing $ comment\nend\\\\% c $\n"
    assert found(text) == {"is_inline_math": ["z", "w"]}
    spans = ignored_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "% a $ in a comment with x^2", "% trailing $ comment", "% c $"]
    clean, _ = mask_ignored(text)
    assert len(clean) == len(text) and clean.count("\n") == text.count("\n")


def test_verbatim_material_is_ignored():
    text = ("\\begin{verbatim}\n$a_1$ \\frac{1}{2}\n\\end{verbatim}\n"
            "\\verb|$b$| \\url{https://x.org/a%20b_c} $q$ \\href{http://y/%41}{$r$}\n"
            "\\begin{minted}{python}\nprint('$c$')\n\\end{minted}\n\\lstinline{$d$}")
    assert found(text) == {"is_inline_math": ["q", "r"]}


def test_scripts_outside_math_and_in_keys_are_not_scripts():
    text = ("see file_name and x^2 in text, \\label{sec:a_b}\n"
            "\\begin{equation}\\label{eq:c_d} e = m c^2 \\end{equation}")
    got = found(text)
    assert got["is_superscript"] == ["2"]
    assert "is_subscript" not in got
    assert got["is_display_math"] == ["\\label{eq:c_d} e = m c^2 "]


def test_every_math_delimiter():
    text = ("a \\(i\\) b \\[d_1\\] c $$d_2$$ e\n"
            "\\begin{equation*}d_3\\end{equation*} \\begin{align}d_4 &= 0\\end{align}\n"
            "\\begin{math}i_2\\end{math} \\begin{alignat}{2}d_5\\end{alignat}\n"
            "\\begin{eqnarray}d_6\\end{eqnarray}")
    got = found(text)
    assert got["is_inline_math"] == ["i", "i_2"]
    assert got["is_display_math"] == ["d_1", "d_2", "d_3", "d_4 &= 0", "d_5", "d_6"]


def test_unclosed_dollar_stops_at_a_blank_line():
    text = "a stray $ sign\n\nthen $x$ is math"
    assert found(text) == {"is_inline_math": ["x"]}


def test_abstract_and_bibliography():
    text = ("\\begin{abstract}\nWe show $p$.\n\\end{abstract}\n\\abstract{Short one.}\n"
            "\\begin{thebibliography}{99}\n\\bibitem{k1} A. Author, \\emph{Title}.\n"
            "\\end{thebibliography}")
    got = found(text)
    assert got["is_abstract"] == ["\nWe show $p$.\n", "Short one."]
    assert got["is_reference"] == ["\n\\bibitem{k1} A. Author, \\emph{Title}.\n"]


def test_label_document_units_and_overlap_rule():
    text = "We set $x^{ab}$ here. % $c$ comment\nNext $y$."
    doc = label_document("d.tex", text)
    units = [text[s:e] for s, e in doc.units]
    assert "comment" not in units and "c" not in units  # inside the comment
    assert all(not u.isspace() for u in units)
    sup = {text[s:e] for (s, e), flag in zip(doc.units, doc.labels["is_superscript"]) if flag}
    assert sup == {"ab"}
    math = [text[s:e] for (s, e), f in zip(doc.units, doc.labels["is_math"]) if f]
    # a unit is positive when any of its characters is inside: "}$" is, " $" is not
    assert math == ["x", "^{", "ab", "}$", "y"]
    assert " $" in units and "$." in units


# ---------------------------------------------------------------------------------------------
# The offline builder (archive in the layout of the biopython 1.81 sdist)


def _tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def sdist(tmp_path) -> Path:
    """A tiny sdist laid out like biopython-1.81.tar.gz: Doc/Tutorial.tex + chapter files."""
    top = "biopython-1.81"
    files = {f"{top}/PKG-INFO": b"Metadata-Version: 2.1\nName: biopython\nVersion: 1.81\n",
             f"{top}/Bio/__init__.py": b"__version__ = '1.81'\n",
             f"{top}/Doc/Tutorial.tex": (FIXTURES / "Tutorial.tex").read_bytes()}
    for chapter in CHAPTERS:
        files[f"{top}/Doc/Tutorial/chapter_{chapter}.tex"] = (
            FIXTURES / f"chapter_{chapter}.tex").read_bytes()
    return _tar_gz(tmp_path / "biopython-1.81.tar.gz", files)


def _offline(sdist: Path, out: Path, **overrides):
    kwargs = {"features": list(BIOPYTHON_FEATURES), "examples_per_feature": 40,
                  "positive_fraction": 0.25, "max_chars": 300, "aggregation": "last",
                  "test_fraction": 0.3, "seed": 42, "name": "latex"}
    kwargs.update(overrides)
    return build_latex(sdist, out, **kwargs)


def test_read_archive_tex_strips_the_top_folder(sdist):
    files = read_archive_tex(sdist)
    assert list(files) == sorted(["Doc/Tutorial.tex"] + [f"Doc/Tutorial/chapter_{c}.tex"
                                                         for c in CHAPTERS])


def test_offline_build_labels_grouped_split_and_windows(sdist, tmp_path):
    ds = _offline(sdist, tmp_path / "out")
    assert ds.category == "latex" and ds.features == list(BIOPYTHON_FEATURES)
    ex = ds.examples
    assert ex.height == 40 * len(BIOPYTHON_FEATURES)
    labels = ds.labels.join(ex, on="example_id")
    counts = labels.group_by("feature").agg(pl.col("label").sum()).to_dict(as_series=False)
    assert set(counts["label"]) == {10}  # 25% of 40, per feature
    # grouped split: no document on both sides
    sides = ex.group_by("document_id").agg(pl.col("split").n_unique())
    assert sides["split"].max() == 1
    # windows: at most max_chars, ending with the span
    assert (ex["text"].str.len_chars() <= 300).all()
    assert (ex["span_end"] == ex["text"].str.len_chars()).all()
    # each positive span really sits in its region: re-label the window's source
    texts = read_archive_tex(sdist)
    docs = {label_document(name, text).name: text for name, text in texts.items()}
    for row in labels.filter(pl.col("feature") == "is_numerator").iter_rows(named=True):
        span = row["text"][row["span_start"]:row["span_end"]]
        assert span.strip(), row
        assert any(row["text"] in text for text in docs.values())
    meta = ds.meta
    assert meta["available"]["is_frac"]["positive_documents"] >= 5
    assert "Doc/Tutorial.tex" in meta["documents"]


def test_offline_positive_units_are_in_their_regions(sdist, tmp_path):
    ds = _offline(sdist, tmp_path / "out", features=["is_display_math", "is_subscript"])
    spans = (ds.labels.join(ds.examples, on="example_id")
             .filter(pl.col("label"))
             .select("feature", pl.col("text").str.slice(pl.col("span_start"),
                                                         pl.col("span_end") - pl.col("span_start"))
                     .alias("unit")))
    sub = spans.filter(pl.col("feature") == "is_subscript")["unit"].to_list()
    # subscripts in the fixtures are indices such as i, j, k, ij, x, y, m, b, 0, 1, 2, max
    assert all(len(u.strip()) <= 5 for u in sub), sub


def test_offline_documents_selects_files(sdist, tmp_path):
    ds = _offline(sdist, tmp_path / "out", features=["is_math"],
                  documents=["chapter_cluster.tex", "Doc/Tutorial/chapter_growth.tex",
                             "chapter_learning.tex", "chapter_motifs.tex"])
    assert set(ds.meta["documents"]) == {f"Doc/Tutorial/chapter_{c}.tex"
                                         for c in ("cluster", "growth", "learning", "motifs")}
    with pytest.raises(DatasetError, match="document 'chapter_nope.tex' is not a .tex file"):
        _offline(sdist, tmp_path / "bad", documents=["chapter_nope.tex"])


def test_offline_build_is_byte_identical(sdist, tmp_path):
    _offline(sdist, tmp_path / "a")
    _offline(sdist, tmp_path / "b")
    for name in ("examples.parquet", "labels.parquet", "meta.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = _offline(sdist, tmp_path / "c", seed=7)
    assert other.fingerprint != _offline(sdist, tmp_path / "d").fingerprint


def test_offline_errors(sdist, tmp_path):
    with pytest.raises(DatasetError, match=r"feature 'is_abstract' has only 0 positive units"):
        _offline(sdist, tmp_path / "o1", features=["is_abstract"])
    with pytest.raises(DatasetError, match=r"'is_reference' has its \d+ positive units in 1 "
                                           r"document\(s\) \['Doc/Tutorial.tex'\]"):
        _offline(sdist, tmp_path / "o2", features=["is_reference"])
    with pytest.raises(DatasetError, match=r"unknown feature\(s\) \[.is_table.\] for LaTeX"):
        _offline(sdist, tmp_path / "o3", features=["is_table"])
    with pytest.raises(DatasetError, match="positive_fraction"):
        _offline(sdist, tmp_path / "o4", positive_fraction=1.5)
    empty = _tar_gz(tmp_path / "empty.tar.gz", {"pkg-1/README": b"no tex here\n"})
    with pytest.raises(SourceError, match="no .tex files"):
        _offline(empty, tmp_path / "o5")
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(SourceError, match="junk.tar.gz"):
        _offline(tmp_path / "junk.tar.gz", tmp_path / "o6")


# ---------------------------------------------------------------------------------------------
# arXiv e-prints


def _paper(i: int, body_input: str = "\\input{sections/intro}") -> str:
    return rf"""\documentclass[twocolumn]{{article}}
\usepackage{{amsmath}}
% \input{{sections/missing}} is commented out and must not be inlined
\newcommand{{\R}}{{\mathbb{{R}}}}
\begin{{document}}
\title{{On the Convergence of Method {i} for Sparse Probes}}
\author{{Alice Smith{i} \and Bob Jones\thanks{{Equal contribution.}}}}
\maketitle
\begin{{abstract}}
We study method {i} and prove that its error decays as $O(n^{{-1/2}})$ for $n$ samples,
improving the bound of \cite{{prior{i}}} by a factor $\frac{{\log n}}{{2}}$.
\end{{abstract}}
{body_input}
\section{{Results}}
The estimator $\hat\theta_{i} = \frac{{1}}{{n}}\sum_{{k=1}}^{{n}} x_k^{i}$ satisfies
\begin{{equation}}
\mathbb{{E}}\left[(\hat\theta - \theta)^2\right] = \frac{{\sigma^2}}{{n}} + b_{i}^2 .
\label{{eq:risk_{i}}}
\end{{equation}}
\bibliography{{refs}}
\end{{document}}
"""


_INTRO = r"""\section{Introduction}
Sparse probes read $k$ neurons of a layer $\ell$; with $k = 2^{j}$ for $j \le 8$ we sweep
\[ F_1 = \frac{2 P R}{P + R} \]
over depth, where $P$ and $R$ are precision and recall of the probe $w_{\ell}$.
"""

_BBL = r"""\begin{thebibliography}{2}
\bibitem{prior%d} C. Doe and D. Roe. \newblock Probing neurons. \newblock \emph{Journal of
  Toy Results}, 12(3):45--67, 2020.
\bibitem{other} E. Poe. \newblock Superposition, revisited. \newblock 2021.
\end{thebibliography}
"""


def _eprint_tar(path: Path, i: int) -> Path:
    """An e-print as a gzipped tar: main + an \\input section + .bbl + a standalone figure."""
    files = {
        "ms.tex": _paper(i).encode(),
        "sections/intro.tex": _INTRO.encode(),
        "ms.bbl": (_BBL % i).encode(),
        "fig.tex": b"\\documentclass{standalone}\n\\begin{document}$x$\\end{document}\n",
        "fig1.png": b"\x89PNG\r\n\x1a\n\x00\x00",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path


def _eprint_single(path: Path, i: int) -> Path:
    """An e-print that is one gzipped .tex file (arXiv serves single-file papers so)."""
    body = (_INTRO + "\\begin{thebibliography}{1}\n"
            f"\\bibitem{{prior{i}}} F. Moe. Notes. 2019.\n\\end{{thebibliography}}\n")
    text = _paper(i, body_input="").replace("\\bibliography{refs}", body)
    path.write_bytes(gzip.compress(text.encode("latin-1"), mtime=0))
    return path


@pytest.fixture
def eprints(tmp_path) -> list[Path]:
    paths = [_eprint_tar(tmp_path / f"2305.{i:05d}", i) for i in range(1, 9)]
    paths += [_eprint_single(tmp_path / f"2305.{i:05d}", i) for i in range(9, 13)]
    return paths


def test_read_eprint_tar_and_single_file(eprints):
    files = read_eprint(eprints[0])
    assert set(files) == {"ms.tex", "sections/intro.tex", "ms.bbl", "fig.tex"}
    assert main_file(eprints[0], files) == "ms.tex"  # not the standalone figure
    single = read_eprint(eprints[-1])
    assert list(single) == ["main.tex"]


def test_flatten_inlines_inputs_and_bbl_not_comments(eprints):
    files = read_eprint(eprints[0])
    flat = flatten_eprint(eprints[0], files, "ms.tex")
    assert "\\section{Introduction}" in flat and "\\input{sections/intro}" not in flat
    assert "\\bibitem{prior1}" in flat and "\\bibliography{refs}" not in flat
    assert "% \\input{sections/missing}" in flat
    got = found(flat)
    assert got["is_title"] == ["On the Convergence of Method 1 for Sparse Probes"]
    assert got["is_reference"][0].startswith("\n\\bibitem{prior1}")
    assert got["is_denominator"] == ["2", "P + R", "n", "n"]  # abstract, intro, results


def test_read_eprint_errors(tmp_path):
    (tmp_path / "plain.tex").write_text("\\documentclass{article}")
    with pytest.raises(SourceError, match="not gzip data"):
        read_eprint(tmp_path / "plain.tex")
    (tmp_path / "paper.pdf.gz").write_bytes(gzip.compress(b"%PDF-1.5\n..."))
    with pytest.raises(SourceError, match="a PDF, not LaTeX source"):
        read_eprint(tmp_path / "paper.pdf.gz")
    (tmp_path / "nomain").write_bytes(gzip.compress(b"\\section{Only a fragment}\n"))
    files = read_eprint(tmp_path / "nomain")
    with pytest.raises(DatasetError, match="no .tex file with \\\\documentclass"):
        main_file(tmp_path / "nomain", files)


def test_arxiv_build_all_twelve_features(eprints, tmp_path):
    ds = build_latex_arxiv(eprints, tmp_path / "out", features=list(FEATURES),
                           examples_per_feature=40, positive_fraction=0.25, max_chars=400,
                           aggregation="last", test_fraction=0.3, seed=42, name="latex_arxiv")
    assert ds.features == list(FEATURES)
    assert ds.examples.height == 40 * 12
    assert set(ds.meta["documents"]) == {p.name for p in eprints}
    sides = ds.examples.group_by("document_id").agg(pl.col("split").n_unique())
    assert sides["split"].max() == 1 and sides.height == len(eprints)
    joined = ds.labels.join(ds.examples, on="example_id")
    units = joined.filter(pl.col("label") & (pl.col("feature") == "is_author")).select(
        pl.col("text").str.slice(pl.col("span_start"), pl.col("span_end") - pl.col("span_start")))
    author_lines = {f"Alice Smith{i} \\and Bob Jones\\thanks{{Equal contribution.}}}}"
                    for i in range(1, 13)}
    for unit in units.to_series().to_list():
        assert any(unit.strip() in line for line in author_lines), unit


def test_arxiv_build_is_byte_identical(eprints, tmp_path):
    kwargs = {"features": ["is_title", "is_frac"], "examples_per_feature": 20,
                  "positive_fraction": 0.25, "max_chars": 200, "seed": 3}
    build_latex_arxiv(eprints, tmp_path / "a", **kwargs)
    build_latex_arxiv(eprints, tmp_path / "b", **kwargs)
    for name in ("examples.parquet", "labels.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_arxiv_errors(eprints, tmp_path):
    with pytest.raises(DatasetError, match="no arXiv e-prints"):
        build_latex_arxiv([], tmp_path / "o", features=["is_math"], examples_per_feature=10)
    with pytest.raises(DatasetError, match=r"'is_title' has only \d+ positive units"):
        build_latex_arxiv(eprints[:2], tmp_path / "o", features=["is_title"],
                          examples_per_feature=500)
    with pytest.raises(SourceError, match="missing.gz: file not found"):
        build_latex_arxiv([tmp_path / "missing.gz"], tmp_path / "o", features=["is_math"],
                          examples_per_feature=10)


def test_labels_cover_every_feature_in_the_fixture_paper():
    doc = label_document("p", _paper(1, body_input=_INTRO).replace("\\bibliography{refs}",
                                                                    _BBL % 1))
    counts = {f: int(doc.labels[f].sum()) for f in FEATURES}
    assert all(counts[f] > 0 for f in FEATURES), counts
    assert counts["is_math"] == int((doc.labels["is_inline_math"]
                                     | doc.labels["is_display_math"]).sum())
    assert np.all(doc.units[:, 1] > doc.units[:, 0])
