"""The paper's LaTeX category: which LaTeX context each token of raw LaTeX source sits in.

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

A region is the content between the delimiters (the delimiters themselves, ``$``, ``\\[``,
``\\begin{..}``, the braces of an argument, are outside it; ``is_frac`` alone includes its
command). A unit is POSITIVE for a feature when any of its characters lies in one of the
feature's regions and NEGATIVE when none does, so negatives are drawn from the units outside
the feature's regions, with the source's own mix of other contexts.

What the parser ignores (never a region, and no unit overlapping it is ever an example, though
it stays in the context text the model reads): comments (``%`` to the end of the line, not
``\\%``), verbatim material (the environments of :data:`VERBATIM_ENVIRONMENTS`, ``\\verb``,
``\\lstinline``, ``\\mintinline``, and the URL arguments of ``\\url``, ``\\path``, ``\\href``,
where ``%`` and ``_`` are literal). Units that are only whitespace are never examples either.
Escaped ``\\$ \\^ \\_ \\{ \\}`` are text. Math opened by ``$``, ``$$``, ``\\(`` or ``\\[`` must
close before the next blank line (TeX's own rule), else the delimiter is treated as text, so one
stray ``$`` cannot turn the rest of a document into math. Not handled: macros (a
``\\newcommand`` that expands to math is not math at its use), ``\\iffalse`` blocks, catcode
changes. The labels say where a token sits in the *source*; they do not establish that a model
represents LaTeX structure rather than surface cues such as a nearby ``$``.

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

``build_latex_arxiv``: the paper's own source, arXiv e-prints as arXiv serves them (a gzipped
tar of the paper's directory, or a single gzipped .tex file), which you download yourself.
The main file is the one with ``\\documentclass`` and ``\\begin{document}``; ``\\input`` /
``\\include`` files from the same e-print are inlined recursively, and ``\\bibliography`` is
replaced by the main file's ``.bbl`` when the e-print has one. One e-print is one document.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sparseprobe.datasets.schema import (
    FeatureDataset,
    check_feature_request,
    feature_seed,
    document_id,
    unit_examples,
    write_feature_dataset,
)
from sparseprobe.datasets.text_features import pre_tokens
from sparseprobe.errors import DatasetError, SourceError
from sparseprobe.sources.packages import open_tarball, open_wheel, sha256_of

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

DISPLAY_ENVIRONMENTS = frozenset(
    f"{name}{star}" for name in ("equation", "align", "alignat", "flalign", "gather",
                                 "multline", "eqnarray", "displaymath", "dmath")
    for star in ("", "*")
)
VERBATIM_ENVIRONMENTS = frozenset({
    "verbatim", "verbatim*", "Verbatim", "Verbatim*", "BVerbatim", "LVerbatim", "lstlisting",
    "minted", "comment", "rawhtml", "filecontents", "filecontents*",
})
_REGION_ENVIRONMENTS = {"abstract": "is_abstract", "thebibliography": "is_reference",
                        "math": "is_inline_math"}
_ENVIRONMENT_ARGUMENTS = {"thebibliography": 1, "alignat": 1, "alignat*": 1}
_FRACTIONS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
_VERBATIM_ARGUMENT = frozenset({"url", "path", "nolinkurl", "href"})
_KEY_COMMANDS = frozenset({
    "label", "ref", "eqref", "pageref", "autoref", "cref", "Cref", "cite", "citep", "citet",
    "citealp", "citeauthor", "citeyear", "nocite", "bibitem", "includegraphics", "input",
    "include", "usepackage", "documentclass", "bibliography", "bibliographystyle",
    "hypertarget", "hyperlink",
})
"""Commands whose braced argument is a key or a file name, never text or math: the scanner
skips it, so ``\\label{eq:a_b}`` inside an equation is no subscript."""

_CONTROL_WORD = re.compile(r"\\([A-Za-z@]+)\*?")
_IGNORE_STOP = re.compile(r"[\\%]")
_SCAN_STOP = re.compile(r"[\\$^_]")
_ENV_NAME = re.compile(r"\s*\{([^{}\s]*)\}")
_CLOSE_TOKEN = re.compile(r"\\.|\$\$?|\n[ \t]*\n", re.DOTALL)
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.DOTALL)
_BRACKET_TOKEN = re.compile(r"\\.|[\[\]{}]", re.DOTALL)


@dataclass(frozen=True)
class Region:
    """A character span [start, end) of LaTeX source that carries one feature."""

    feature: str
    start: int
    end: int


# ---------------------------------------------------------------------------------------------
# Comments and verbatim material


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n":
        i += 1
    return i


def _verbatim_group_end(text: str, open_pos: int) -> int | None:
    """Index of the ``}`` closing the verbatim brace group at ``open_pos`` (no escapes)."""
    depth = 0
    for j in range(open_pos, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return None


def _inline_verbatim(text: str, name: str, j: int) -> tuple[int, int, int] | None:
    """(content start, content end, resume) of ``\\verb|..|``-like material after ``j``."""
    n = len(text)
    if name == "mintinline":  # \mintinline[opts]{lang}{code} or \mintinline{lang}|code|
        j = _skip_options(text, _skip_spaces(text, j))
        if j >= n or text[j] != "{":
            return None
        close = _verbatim_group_end(text, j)
        if close is None:
            return None
        j = close + 1
    elif name == "lstinline":
        j = _skip_options(text, j)
    if j >= n:
        return None
    delim = text[j]
    if delim == "{" and name != "verb":
        close = _verbatim_group_end(text, j)
        return None if close is None else (j + 1, close, close + 1)
    if delim.isspace() or delim.isalpha() or delim == "*":
        return None
    close = text.find(delim, j + 1)
    if close == -1 or "\n" in text[j + 1:close]:
        return None
    return j + 1, close, close + 1


def ignored_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of comments and verbatim material, in order (see the module docstring).

    Every span is content the region parser must not read: a comment from its ``%`` to the end
    of its line, the body of a verbatim environment, the argument of ``\\verb`` and friends.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    i = 0
    while i < n:
        m = _IGNORE_STOP.search(text, i)
        if m is None:
            break
        i = m.start()
        if text[i] == "%":
            end = text.find("\n", i)
            end = n if end == -1 else end
            spans.append((i, end))
            i = end
            continue
        word = _CONTROL_WORD.match(text, i)
        if word is None:
            i += 2  # a control symbol: \% \$ \\ \{ ...
            continue
        name, j = word.group(1), word.end()
        if name in ("verb", "lstinline", "mintinline"):
            found = _inline_verbatim(text, name, j)
            if found:
                spans.append(found[:2])
                i = found[2]
                continue
        elif name in _VERBATIM_ARGUMENT:
            k = _skip_spaces(text, j)
            close = _verbatim_group_end(text, k) if k < n and text[k] == "{" else None
            if close is not None:
                spans.append((k + 1, close))
                i = close + 1
                continue
        elif name == "begin":
            env = _ENV_NAME.match(text, j)
            if env and env.group(1) in VERBATIM_ENVIRONMENTS:
                end = re.compile(r"\\end\s*\{" + re.escape(env.group(1)) + r"\}").search(
                    text, env.end())
                stop = end.start() if end else n
                spans.append((env.end(), stop))
                i = end.end() if end else n
                continue
        i = j
    return spans


def mask_ignored(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with comments and verbatim material blanked (newlines kept, so every offset is
    unchanged), and the blanked spans."""
    spans = ignored_spans(text)
    if not spans:
        return text, spans
    parts, last = [], 0
    for start, end in spans:
        parts.append(text[last:start])
        parts.append(re.sub(r"[^\n]", " ", text[start:end]))
        last = end
    parts.append(text[last:])
    return "".join(parts), spans


# ---------------------------------------------------------------------------------------------
# The region parser


def _skip_options(text: str, i: int) -> int:
    """Skip spaces and any ``[...]`` optional arguments (brackets nest; braces protect)."""
    i = _skip_spaces(text, i)
    while i < len(text) and text[i] == "[":
        depth = 0
        for m in _BRACKET_TOKEN.finditer(text, i):
            tok = m.group()
            if tok in "[{":
                depth += 1
            elif tok in "]}":
                depth -= 1
                if depth == 0:
                    i = _skip_spaces(text, m.end())
                    break
        else:
            return len(text)
    return i


def match_brace(text: str, open_pos: int) -> int | None:
    """Index of the ``}`` that closes the ``{`` at ``open_pos`` (``\\{``, ``\\}`` are escapes),
    or None if it never closes."""
    depth = 0
    for m in _BRACE_TOKEN.finditer(text, open_pos):
        tok = m.group()
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return None


@dataclass(frozen=True)
class _Argument:
    start: int  # content start
    end: int  # content end
    after: int  # where scanning resumes after the argument


def _argument(text: str, j: int) -> _Argument | None:
    """The macro argument TeX reads at ``j``: a brace group, a control sequence or a char."""
    k = _skip_spaces(text, j)
    if k >= len(text):
        return None
    c = text[k]
    if c == "{":
        close = match_brace(text, k)
        return None if close is None else _Argument(k + 1, close, close + 1)
    if c == "\\":
        word = _CONTROL_WORD.match(text, k)
        end = word.end() if word else min(k + 2, len(text))
        return _Argument(k, end, end)
    if c in "}$^_&#%":
        return None
    return _Argument(k, k + 1, k + 1)


class _Scanner:
    """One left-to-right pass over comment-free LaTeX, recording :class:`Region` s."""

    def __init__(self, text: str):
        self.text = text
        self.regions: list[Region] = []
        self.math: list[tuple[int, int]] = []  # open math: (content end, resume after closer)

    def add(self, feature: str, start: int, end: int) -> None:
        if end > start:
            self.regions.append(Region(feature, start, end))

    def run(self) -> list[Region]:
        text, n, i = self.text, len(self.text), 0
        while i < n:
            while self.math and i >= self.math[-1][0]:
                i = max(i, self.math.pop()[1])
            limit = self.math[-1][0] if self.math else n
            m = _SCAN_STOP.search(text, i, limit)
            if m is None:
                i = limit
                continue
            i, c = m.start(), m.group()
            if c == "\\":
                i = self.command(i, limit)
            elif c == "$":
                i = self.dollar(i, limit)
            elif self.math:  # ^ or _
                arg = _argument(text, i + 1)
                if arg:
                    self.add("is_superscript" if c == "^" else "is_subscript", arg.start, arg.end)
                i += 1
            else:
                i += 1
        return sorted(self.regions, key=lambda r: (r.start, r.end, r.feature))

    def find_close(self, start: int, closer: str, limit: int) -> int | None:
        """Position of ``closer`` ($, $$, \\) or \\]) after ``start``; None at a blank line."""
        for m in _CLOSE_TOKEN.finditer(self.text, start, limit):
            tok = m.group()
            if tok == closer:
                return m.start()
            if tok == "$$" and closer == "$":
                return m.start()
            if tok[0] == "\n":
                return None
        return None

    def open_math(self, feature: str, start: int, close: int, closer_len: int) -> None:
        self.add(feature, start, close)
        self.math.append((close, close + closer_len))

    def dollar(self, i: int, limit: int) -> int:
        closer = "$$" if self.text.startswith("$$", i) else "$"
        start = i + len(closer)
        close = self.find_close(start, closer, limit)
        if close is None:
            return start
        feature = "is_display_math" if closer == "$$" else "is_inline_math"
        self.open_math(feature, start, close, len(closer))
        return start

    def command(self, i: int, limit: int) -> int:
        text = self.text
        word = _CONTROL_WORD.match(text, i)
        if word is None:
            symbol = text[i + 1:i + 2]
            if symbol in ("(", "["):
                closer = "\\)" if symbol == "(" else "\\]"
                close = self.find_close(i + 2, closer, limit)
                if close is not None:
                    feature = "is_inline_math" if symbol == "(" else "is_display_math"
                    self.open_math(feature, i + 2, close, 2)
            return i + 2
        name, j = word.group(1), word.end()
        if name == "begin":
            return self.begin(j)
        if name in _KEY_COMMANDS:
            k = _skip_options(text, j)
            close = match_brace(text, k) if k < len(text) and text[k] == "{" else None
            return j if close is None else close + 1
        if name in ("title", "author", "abstract") and not self.math:
            k = _skip_options(text, j)
            if k < len(text) and text[k] == "{":
                close = match_brace(text, k)
                if close is not None:
                    self.add(f"is_{name}", k + 1, close)
                    return k + 1
        elif name in ("textsuperscript", "textsubscript"):
            k = _skip_spaces(text, j)
            close = match_brace(text, k) if k < len(text) and text[k] == "{" else None
            if close is not None:
                feature = "is_superscript" if name == "textsuperscript" else "is_subscript"
                self.add(feature, k + 1, close)
                return k + 1
        elif name in _FRACTIONS and self.math:
            numerator = _argument(text, _skip_options(text, j))
            denominator = _argument(text, numerator.after) if numerator else None
            if denominator:
                self.add("is_frac", i, denominator.after)
                self.add("is_numerator", numerator.start, numerator.end)
                self.add("is_denominator", denominator.start, denominator.end)
        return j

    def begin(self, j: int) -> int:
        env = _ENV_NAME.match(self.text, j)
        if env is None:
            return j
        name, after = env.group(1), env.end()
        feature = ("is_display_math" if name in DISPLAY_ENVIRONMENTS
                   else _REGION_ENVIRONMENTS.get(name))
        if feature is None:
            return after
        end = _environment_end(self.text, name, after)
        if end is None:
            return after
        start = after
        for _ in range(_ENVIRONMENT_ARGUMENTS.get(name, 0)):
            arg = _argument(self.text, start)
            start = arg.after if arg else start
        if feature.endswith("_math"):
            self.open_math(feature, start, end[0], end[1] - end[0])
        else:
            self.add(feature, start, end[0])
        return start


def _environment_end(text: str, name: str, start: int) -> tuple[int, int] | None:
    """Span of the ``\\end{name}`` matching an environment opened before ``start``."""
    depth = 1
    pattern = re.compile(r"\\(begin|end)\s*\{" + re.escape(name) + r"\}")
    for m in pattern.finditer(text, start):
        depth += 1 if m.group(1) == "begin" else -1
        if depth == 0:
            return m.start(), m.end()
    return None


def latex_regions(text: str) -> list[Region]:
    """Every feature region of a LaTeX source (comments and verbatim material ignored), sorted
    by position. ``is_math`` is not listed: it is the union of the two math features."""
    clean, _ = mask_ignored(text)
    return _Scanner(clean).run()


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
    regions = _Scanner(clean).run()
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


# ---------------------------------------------------------------------------------------------
# Reading sources


def _decode(data: bytes) -> str:
    """UTF-8 when it decodes, else Latin-1 (older arXiv sources); CRLF normalised to LF."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _strip_top(name: str) -> str:
    """An archive member name without the package's top folder (``biopython-1.81/``,
    ``package/``); wheel members have none."""
    return name.split("/", 1)[1] if "/" in name else name


def read_archive_tex(archive: Path) -> dict[str, str]:
    """Every ``.tex`` member of a pinned archive (sdist / npm tarball / wheel), by its path
    below the top folder, in name order."""
    archive = Path(archive)
    files: dict[str, bytes] = {}
    if zipfile.is_zipfile(archive):
        with open_wheel(archive) as wheel:
            for name in sorted(wheel.namelist()):
                if name.endswith(".tex"):
                    files[name] = wheel.read(name)
    else:
        with open_tarball(archive) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                if member.isfile() and member.name.endswith(".tex"):
                    files[_strip_top(member.name)] = tar.extractfile(member).read()
    return {name: _decode(data) for name, data in sorted(files.items())}


def _select(name: str, archive: Path, files: dict[str, str],
            documents: list[str] | None) -> dict[str, str]:
    if not files:
        raise SourceError(f"{archive}: no .tex files in the archive (expected a package that "
                          "ships LaTeX sources, e.g. the biopython 1.81 sdist)")
    if documents is None:
        return files
    chosen: dict[str, str] = {}
    for wanted in documents:
        hits = [f for f in files if f == wanted or f.endswith("/" + wanted)]
        if not hits:
            raise DatasetError(f"dataset '{name}': document '{wanted}' is not a .tex file of "
                               f"{Path(archive).name}; it has {list(files)}")
        chosen.update((h, files[h]) for h in hits)
    return dict(sorted(chosen.items()))


# arXiv e-prints

_INPUT = re.compile(
    r"\\(input|include|subfile)(?![A-Za-z@])(?:\s*\{([^{}]+)\}|\s+([^\s{}\\%]+))")
_BIBLIOGRAPHY = re.compile(r"\\bibliography\s*\{[^{}]*\}")
_DOCUMENTCLASS = re.compile(r"\\documentclass\b")
_BEGIN_DOCUMENT = re.compile(r"\\begin\s*\{document\}")


def read_eprint(path: Path) -> dict[str, str]:
    """The text files of one arXiv e-print: a gzipped tar of the paper's directory, or a single
    gzipped .tex file (returned as ``main.tex``). Raises SourceError naming the file."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes())
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: file not found") from exc
    except (OSError, EOFError) as exc:
        raise SourceError(f"{path}: not gzip data ({exc}); expected an arXiv e-print (a "
                          "gzipped tar or a gzipped .tex file)") from exc
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            files = {}
            for member in tar.getmembers():
                name = member.name.removeprefix("./")
                if member.isfile() and name.lower().endswith((".tex", ".bbl", ".ltx")):
                    files[name] = _decode(tar.extractfile(member).read())
            return dict(sorted(files.items()))
    except tarfile.TarError:
        if raw.startswith(b"%PDF"):
            raise SourceError(f"{path}: a PDF, not LaTeX source (arXiv serves only the PDF "
                              "for some papers)") from None
        if b"\x00" in raw[:4096]:
            raise SourceError(f"{path}: neither a tar archive nor a .tex file after "
                              "decompression (expected an arXiv e-print)") from None
        return {"main.tex": _decode(raw)}


def _uncommented(text: str) -> str:
    return mask_ignored(text)[0]


def main_file(path: Path, files: dict[str, str]) -> str:
    """The e-print's main file: has ``\\documentclass`` and ``\\begin{document}`` outside
    comments; if several do (a standalone figure, a supplement), those no other file inputs,
    then the longest once its inputs are inlined, then the first by name."""
    candidates = [name for name, text in files.items() if name.endswith((".tex", ".ltx"))
                  and _DOCUMENTCLASS.search(_uncommented(text))
                  and _BEGIN_DOCUMENT.search(_uncommented(text))]
    if not candidates:
        raise DatasetError(f"{path}: no .tex file with \\documentclass and \\begin{{document}} "
                           f"(files: {list(files)})")
    inputs = set()
    for text in files.values():
        for m in _INPUT.finditer(_uncommented(text)):
            inputs.add(_resolve((m.group(2) or m.group(3)).strip(), files) or "")
    top = [c for c in candidates if c not in inputs] or candidates
    return min(top, key=lambda c: (-len(flatten_eprint(path, files, c)), c))


def _resolve(target: str, files: dict[str, str]) -> str | None:
    target = target.removeprefix("./")
    for name in (target, f"{target}.tex"):
        if name in files:
            return name
    return None


def flatten_eprint(path: Path, files: dict[str, str], main: str, depth: int = 0) -> str:
    """The main file with ``\\input``/``\\include`` files inlined (recursively, 20 levels at
    most) and ``\\bibliography{..}`` replaced by the main file's ``.bbl`` if the e-print has one.
    Commands inside comments are left alone; a missing file leaves its command in place."""
    text = files[main]
    clean = _uncommented(text)
    edits: list[tuple[int, int, str]] = []
    for m in _INPUT.finditer(clean):
        child = _resolve((m.group(2) or m.group(3)).strip(), files)
        if child is not None and child != main and depth < 20:
            edits.append((m.start(), m.end(), flatten_eprint(path, files, child, depth + 1)))
    if depth == 0:
        bbl = main.rsplit(".", 1)[0] + ".bbl"
        if bbl in files:
            edits += [(m.start(), m.end(), files[bbl]) for m in _BIBLIOGRAPHY.finditer(clean)]
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


# ---------------------------------------------------------------------------------------------
# Building


def _check_request(name: str, features: Sequence[str], examples_per_feature: int,
                   positive_fraction: float, max_chars: int) -> None:
    check_feature_request(name, features, FEATURES, "LaTeX", examples_per_feature,
                          positive_fraction)
    if max_chars < 20:
        raise DatasetError(f"dataset '{name}': max_chars must be >= 20, got {max_chars}")


def _build(documents: list[LabelledDocument], out_dir: Path, *, name: str, source: str,
           features: Sequence[str], examples_per_feature: int, positive_fraction: float,
           max_chars: int, aggregation: str, test_fraction: float, seed: int,
           meta: dict) -> FeatureDataset:
    n_pos = min(max(1, round(examples_per_feature * positive_fraction)), examples_per_feature - 1)
    n_neg = examples_per_feature - n_pos
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
        for kind, pool, wanted in (("positive", pos_idx, n_pos), ("negative", neg_idx, n_neg)):
            if pool.size < wanted:
                raise DatasetError(
                    f"dataset '{name}': feature '{feature}' has only {pool.size} {kind} units "
                    f"in {source}, fewer than the {wanted} requested ({examples_per_feature} "
                    f"examples x positive_fraction {positive_fraction})"
                )
        if len(pos_docs) < 2:
            raise DatasetError(
                f"dataset '{name}': feature '{feature}' has its {pos_idx.size} positive units "
                f"in {len(pos_docs)} document(s) {pos_docs} of {source}; a split grouped by "
                "document needs positives in at least 2 documents"
            )
        rng = np.random.default_rng(feature_seed(seed, feature))
        chosen = [(int(i), True) for i in rng.choice(pos_idx, n_pos, replace=False)]
        chosen += [(int(i), False) for i in rng.choice(neg_idx, n_neg, replace=False)]
        for unit, label in sorted(chosen):
            doc = documents[unit_doc[unit]]
            start, end = (int(x) for x in doc.units[unit_index[unit]])
            first = min(int(np.searchsorted(doc.unit_starts, end - max_chars)),
                        len(doc.unit_starts) - 1)
            window = min(int(doc.unit_starts[first]), start)
            rows.append((feature, label, doc_ids[unit_doc[unit]], doc.text[window:end],
                         start - window, end - window))
    frame = unit_examples(rows, test_fraction, seed)
    return write_feature_dataset(
        out_dir, name=name, category="latex", aggregation=aggregation, examples=frame,
        labels=frame.select("feature", "example_id", "label"),
        meta={
            **meta,
            "seed": seed,
            "test_fraction": test_fraction,
            "examples_per_feature": examples_per_feature,
            "positive_fraction": positive_fraction,
            "max_chars": max_chars,
            "available": available,
            "documents": {d.name: doc_id for d, doc_id in zip(documents, doc_ids)},
        },
    )


_DESCRIPTION = ("LaTeX context of the span's pre-token in raw LaTeX source (title, author, "
                "abstract, bibliography, super/subscript, fraction parts, inline/display "
                "math), one-vs-rest per feature, read at the span's last token; the text is "
                "the source up to and including the span.")


def build_latex(
    source: Path,
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    max_chars: int = 1000,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "latex",
    documents: list[str] | None = None,
) -> FeatureDataset:
    """LaTeX features from the .tex files of a pinned archive (the biopython 1.81 sdist by
    default config), each file one document. ``documents`` restricts the files (paths below
    the archive's top folder, e.g. ``Doc/Tutorial/chapter_cluster.tex``, or a trailing part of
    one). Features the files cannot support raise a DatasetError naming the count."""
    _check_request(name, features, examples_per_feature, positive_fraction, max_chars)
    source = Path(source)
    files = _select(name, source, read_archive_tex(source), documents)
    labelled = [label_document(member, text) for member, text in files.items()]
    return _build(
        labelled, out_dir, name=name, source=source.name, features=features,
        examples_per_feature=examples_per_feature, positive_fraction=positive_fraction,
        max_chars=max_chars, aggregation=aggregation, test_fraction=test_fraction, seed=seed,
        meta={"description": _DESCRIPTION, "source": f"LaTeX files of {source.name}",
              "source_sha256": sha256_of(source)},
    )


def build_latex_arxiv(
    paths: list[Path],
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    max_chars: int = 1000,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "latex",
) -> FeatureDataset:
    """LaTeX features from arXiv e-prints (the paper's source): each path one e-print as
    arXiv serves it, flattened from its main file (see :func:`flatten_eprint`); one e-print is
    one document."""
    _check_request(name, features, examples_per_feature, positive_fraction, max_chars)
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
        features=features, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, max_chars=max_chars, aggregation=aggregation,
        test_fraction=test_fraction, seed=seed,
        meta={"description": _DESCRIPTION, "source": "arXiv e-prints "
              + ", ".join(p.name for p in paths),
              "source_sha256": {p.name: sha256_of(p) for p in paths}},
    )
