"""The LaTeX region parser: where math, sub/superscripts, fractions, titles, authors,
abstracts and references lie in raw LaTeX source, and what it ignores.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


class RegionScanner:
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
    return RegionScanner(clean).run()
