"""The code-language category: which programming language is this file written in?

The paper probes one-vs-rest features for nine languages, C, C++, Go, HTML, Java, JavaScript,
PHP, Python and XML (Pile GitHub files labelled by a classifier), each read as the mean over
tokens 100..end of a window of a code file: the first tokens only set up context. Here an
example is a *window* of about ``chars_per_example`` characters of one real source file, cut at
line ends; its span is the window after its first ``skip_chars`` characters (the characters
analogue of the paper's tokens 100..end), read with ``aggregation`` (``mean``). Every example is
labelled for every language (positive for its own), so with the same number of windows per
language each feature has about 1/n_languages positives (1/9 for the paper's set).

A positive label means "this window comes from a file of that language" (by the file's lexer
directory or extension), not that every character of it is that language: a C file's license
comment or an HTML page's inline script are inside the window. It does not establish that a
model represents the language rather than surface statistics of the few projects a language's
files come from (each language has only a handful of files here, so a probe can also pick up
a project's naming style).

Sources
-------
``build_code_language`` reads the Pygments source distribution (PyPI sdist ``pygments``,
BSD-2). Its ``tests/examplefiles/<lexer>/`` folders hold real source files, one folder per
Pygments lexer, each file next to a ``<file>.output`` golden token dump (never read). Which
files count for which language (:data:`PYGMENTS_LANGUAGES`):

- C: ``c/`` (.c .h).
- C++: ``cpp/`` (.cpp .cc .cxx .hpp .hh .hxx .h).
- Go: ``go/`` (.go).
- HTML: ``html/`` (.html .htm .xhtml).
- Java: ``java/`` (.java).
- JavaScript: ``js/`` (.js .mjs .cjs), plus the sdist's ``doc/_static/*.js`` (the web demo).
- PHP: ``php/`` (.php).
- Python: ``python/`` (.py), plus the package's own ``pygments/**.py``, ``scripts/*.py``,
  ``external/*.py``, ``doc/conf.py`` and ``doc/examples/*.py``.
- XML: ``xml/`` (.xml) and ``xslt/`` (.xsl .xslt).

Where the paper's boundaries fall:

- C vs C++: only the ``c`` folder is C and only ``cpp`` is C++. Dialects and supersets are
  neither: ``cuda`` (CUDA C++), ``arduino`` (Arduino C++), ``objective-c``, ``nesc``, ``ec``
  (eC), ``charmci``, ``swig`` interface files, ``ragel-cpp`` (Ragel embedded in C++).
- JavaScript vs TypeScript: ``js`` is JavaScript; ``ts``/``tsx`` are the extra language
  TypeScript; ``jsx`` (JavaScript with embedded markup), ``javascript+mozpreproc`` (a
  preprocessor template), ``coffee-script``, ``live-script`` and ``nodejsrepl`` (REPL
  transcripts) are excluded.
- XML vs HTML: ``html`` is HTML and ``xml``/``xslt`` are XML (XSLT stylesheets are XML
  documents); ``dtd`` (DTD syntax is not XML), ``xquery``, ``xul+mozpreproc``, ``genshi`` and
  every other template dialect are excluded.
- Templates and mixed files: folders named ``html+<x>``, ``django``, ``jsp``, ``rhtml``,
  ``twig``, ``smarty``, ``vue``, ``mako``, ``myghty``, ``cheetah``, ``evoque``, ``ssp``,
  ``genshi`` are never mapped, and single files that are templates although they sit in a
  language's folder are excluded by name (:data:`PYGMENTS_EXCLUDED_FILES`:
  ``html/example.xhtml`` is a Nitro template full of embedded Ruby).
- Python: ``pycon`` (console sessions), ``pytb``/``py2tb`` (tracebacks) are not Python source.
  The package's own modules are added because the ``python`` folder holds under 1,000
  characters, but not its generated keyword tables (``pygments/lexers/_*.py``), its Unicode
  tables (``pygments/unistring.py``) or its tests (``tests/*.py`` embed other languages' code
  as strings).

``extra_languages`` widen the set: named entries of :data:`PYGMENTS_LANGUAGES` (Rust, Ruby,
Haskell, TypeScript, C#, Scala, Kotlin, Swift, Lua, Perl, Shell, ...) or any other
``tests/examplefiles`` folder name (``nim``, ``zig``...), which becomes a language of that name.

What Pygments 2.19.2 holds for the paper's nine is thin: a few files per language, and Go only
two files of 258 and 172 characters, HTML one file once its template is excluded. A language
with fewer than two usable files (the split needs one file on each side) or fewer than
``min_examples_per_language`` windows stops the build with an error naming it.

``build_code_language_github`` reads the paper's kind of source: GitHub code dumps as
JSONL / JSONL.zst / Parquet / CSV tables (the codeparrot ``github-code`` layout: ``code``,
``repo_name``, ``path``, ``language``; ``codeparrot-clean``: ``content``), the language taken
from a ``language`` column (names normalised by :data:`LANGUAGE_ALIASES`, e.g. codeparrot's
``GO``) or else from the ``path``'s extension (:data:`EXTENSION_LANGUAGES`).

Windows, balance and split (both builders)
------------------------------------------
- Files are decoded as UTF-8 (others skipped and counted), newlines normalised; identical
  file contents are kept once.
- A file is cut into consecutive windows of at most ``chars_per_example`` characters, each
  ending at a line end when one lies in the window's second half. A window is kept when its
  span (after ``skip_chars``) has at least ``min_span_chars`` characters (default: a quarter of
  a full window's span) and some non-space character, so a file's short tail and tiny files
  are dropped. At most ``max_windows_per_file`` windows per file (a seeded choice, kept in file
  order), so a big file does not dominate; a window whose text already occurred is dropped.
- Every language gets the same number of examples, ``min(examples_per_language, fewest windows
  any language has)``, taken round-robin over its files in a seeded order (one window from
  every file before a second from any).
- Split: per language, whole files go to the test side until its windows are closest to
  ``test_fraction`` of the language's examples, with at least one file on each side. No file
  has windows on both sides. (The shared stratified group splitter can leave a language with
  two or three files entirely on one side; this split cannot.) ``document_id`` is a hash of the
  file's path and content.

Deterministic: the same source, arguments and seed give byte-identical parquet files.
"""

from __future__ import annotations

import fnmatch
import posixpath
import random
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sparseprobe.datasets.schema import (
    FeatureDataset,
    document_id,
    write_feature_dataset,
)
from sparseprobe.datasets.table import column, read_table
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import open_tarball

PAPER_CODE_LANGUAGES = ("C", "C++", "Go", "HTML", "Java", "JavaScript", "PHP", "Python", "XML")

MIN_FILES_PER_LANGUAGE = 2
"""A language needs one file on each side of the grouped split."""


@dataclass(frozen=True)
class LanguageFiles:
    """Which files of the Pygments sdist count as one language.

    ``folders``: ``tests/examplefiles/<folder>`` lexer folders; ``endings``: lower-case file name
    endings that count there (empty: every file but ``*.output``); ``patterns``: fnmatch
    patterns of further sdist paths (relative to the sdist root; ``*`` crosses folders);
    ``excluded``: fnmatch patterns of sdist paths never used.
    """

    language: str
    folders: tuple[str, ...]
    endings: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


def _lang(language: str, folders: str, endings: str, **kw) -> LanguageFiles:
    return LanguageFiles(language, tuple(folders.split()), tuple(endings.split()), **kw)


PYGMENTS_LANGUAGES: dict[str, LanguageFiles] = {
    spec.language: spec
    for spec in (
        # the paper's nine
        _lang("C", "c", ".c .h"),
        _lang("C++", "cpp", ".cpp .cc .cxx .hpp .hh .hxx .h"),
        _lang("Go", "go", ".go"),
        _lang("HTML", "html", ".html .htm .xhtml"),
        _lang("Java", "java", ".java"),
        _lang("JavaScript", "js", ".js .mjs .cjs", patterns=("doc/_static/*.js",)),
        _lang("PHP", "php", ".php"),
        _lang("Python", "python", ".py",
              patterns=("pygments/*.py", "scripts/*.py", "external/*.py", "doc/conf.py",
                        "doc/examples/*.py"),
              excluded=("pygments/lexers/_*.py", "pygments/unistring.py")),
        _lang("XML", "xml xslt", ".xml .xsl .xslt"),
        # extra languages (extra_languages)
        _lang("Rust", "rust", ".rs"),
        _lang("Ruby", "rb", ".rb"),
        _lang("Haskell", "haskell", ".hs"),
        _lang("TypeScript", "ts tsx", ".ts .tsx"),
        _lang("C#", "csharp", ".cs"),
        _lang("Scala", "scala", ".scala"),
        _lang("Kotlin", "kotlin", ".kt .kts"),
        _lang("Swift", "swift", ".swift"),
        _lang("Lua", "lua", ".lua"),
        _lang("Perl", "perl", ".pl .pm"),
        _lang("Shell", "bash", ".sh .bash"),
        _lang("OCaml", "ocaml", ".ml .mli"),
        _lang("Fortran", "fortran", ".f90 .f95 .f03 .f"),
        _lang("Julia", "julia", ".jl"),
        _lang("Erlang", "erlang", ".erl .hrl"),
        _lang("Elixir", "elixir", ".ex .exs"),
        _lang("Clojure", "clojure", ".clj .cljc .cljs"),
        _lang("CSS", "css", ".css"),
        _lang("D", "d", ".d"),
        _lang("Dart", "dart", ".dart"),
        _lang("Groovy", "groovy", ".groovy .gradle"),
        _lang("Objective-C", "objective-c", ".m"),
        _lang("Scheme", "scheme", ".scm .ss"),
        _lang("Common Lisp", "common-lisp", ".lisp .cl"),
        _lang("Makefile", "make", ""),
    )
}
"""Language name -> where its files are in the Pygments sdist (see the module docstring)."""

PYGMENTS_EXCLUDED_FILES = ("tests/examplefiles/html/example.xhtml",)
"""Files in a mapped folder that are templates or mixed files (ambiguous labels)."""

_EXAMPLEFILES = "tests/examplefiles/"


@dataclass(frozen=True)
class CodeFile:
    """One source file: its language label, where it came from and its text."""

    language: str
    path: str
    text: str


@dataclass(frozen=True)
class Windowing:
    """How files are cut into examples."""

    chars_per_example: int
    skip_chars: int
    max_windows_per_file: int
    min_span_chars: int

    @classmethod
    def checked(cls, name: str, chars_per_example: int, skip_chars: int,
                max_windows_per_file: int, min_span_chars: int | None) -> Windowing:
        """Validated settings; ``min_span_chars`` None -> a quarter of a full window's span."""
        if skip_chars < 0 or chars_per_example <= skip_chars:
            raise DatasetError(
                f"dataset '{name}': chars_per_example ({chars_per_example}) must exceed "
                f"skip_chars ({skip_chars}) >= 0"
            )
        if max_windows_per_file < 1:
            raise DatasetError(f"dataset '{name}': max_windows_per_file must be >= 1, "
                               f"got {max_windows_per_file}")
        if min_span_chars is None:
            min_span_chars = max(1, (chars_per_example - skip_chars) // 4)
        if min_span_chars < 1:
            raise DatasetError(f"dataset '{name}': min_span_chars must be >= 1")
        return cls(chars_per_example, skip_chars, max_windows_per_file, min_span_chars)


def decode_source(raw: bytes) -> str | None:
    """UTF-8 text (a BOM dropped, CRLF/CR -> LF), or None when the bytes are not UTF-8."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def cut_windows(text: str, chars_per_example: int) -> list[str]:
    """Consecutive windows of at most ``chars_per_example`` characters covering ``text``.

    A window ends just after the last newline of its second half when there is one, so windows
    start at line starts (a very long line is cut where the window is full).
    """
    windows, start, n = [], 0, len(text)
    while start < n:
        end = min(n, start + chars_per_example)
        if end < n:
            newline = text.rfind("\n", start + chars_per_example // 2, end)
            if newline != -1:
                end = newline + 1
        windows.append(text[start:end])
        start = end
    return windows


def file_windows(file: CodeFile, windowing: Windowing, seed: int) -> list[str]:
    """The windows of one file that qualify, at most ``max_windows_per_file`` (seeded)."""
    kept = [
        w for w in cut_windows(file.text, windowing.chars_per_example)
        if len(w) - windowing.skip_chars >= windowing.min_span_chars
        and w[windowing.skip_chars:].strip()
    ]
    if len(kept) <= windowing.max_windows_per_file:
        return kept
    rng = random.Random(f"{seed}:windows:{file.language}:{file.path}")
    chosen = sorted(rng.sample(range(len(kept)), windowing.max_windows_per_file))
    return [kept[i] for i in chosen]


@dataclass(frozen=True)
class _Window:
    language: str
    document: str
    path: str
    text: str


def _windows_by_language(
    files: list[CodeFile], languages: list[str], windowing: Windowing, seed: int
) -> dict[str, list[list[_Window]]]:
    """Per language, per file (in path order) the file's windows; duplicates dropped."""
    seen_texts: set[str] = set()
    seen_windows: set[str] = set()
    by_language: dict[str, list[list[_Window]]] = {language: [] for language in languages}
    for file in sorted(files, key=lambda f: (languages.index(f.language), f.path)):
        if file.text in seen_texts:
            continue
        seen_texts.add(file.text)
        document = document_id(f"{file.path}\n{file.text}")
        windows = []
        for text in file_windows(file, windowing, seed):
            if text not in seen_windows:
                seen_windows.add(text)
                windows.append(_Window(file.language, document, file.path, text))
        if windows:
            by_language[file.language].append(windows)
    return by_language


def _check_supply(name: str, origin: str, by_language: dict[str, list[list[_Window]]],
                  min_examples: int) -> None:
    """Every language needs ``min_examples`` windows from two files; the error names them all."""
    short = [
        f"'{language}' ({sum(len(w) for w in files)} windows from {len(files)} files)"
        for language, files in by_language.items()
        if len(files) < MIN_FILES_PER_LANGUAGE or sum(len(w) for w in files) < min_examples
    ]
    if short:
        raise DatasetError(
            f"dataset '{name}': too little code in {origin} for language {', '.join(short)}: "
            f"each language needs at least {min_examples} usable windows from "
            f"{MIN_FILES_PER_LANGUAGE} files; drop it from languages, lower chars_per_example, "
            "skip_chars or min_examples_per_language, or raise max_windows_per_file"
        )


def _round_robin(files: list[list[_Window]], n: int, rng: random.Random) -> list[_Window]:
    """``n`` windows: one from every file (in a seeded file order) before a second from any."""
    order = list(files)
    rng.shuffle(order)
    picked, depth = [], 0
    while len(picked) < n:
        layer = [windows[depth] for windows in order if depth < len(windows)]
        picked += layer[: n - len(picked)]
        depth += 1
    return picked


def _test_documents(windows: list[_Window], test_fraction: float,
                    rng: random.Random) -> set[str]:
    """Whole files for the test side: windows closest to ``test_fraction``, >= 1 file a side."""
    counts: dict[str, int] = {}
    for window in windows:
        counts[window.document] = counts.get(window.document, 0) + 1
    documents = list(counts)
    rng.shuffle(documents)
    target = test_fraction * len(windows)
    first = min(documents, key=lambda d: abs(counts[d] - target))
    test, total = {first}, counts[first]
    for document in documents:
        if document in test or len(test) == len(documents) - 1:
            continue
        if abs(total + counts[document] - target) < abs(total - target):
            test.add(document)
            total += counts[document]
    return test


def _assemble(
    name: str, origin: str, files: list[CodeFile], languages: list[str], *,
    examples_per_language: int, windowing: Windowing, min_examples: int,
    aggregation: str, test_fraction: float, seed: int, out_dir: Path, meta: dict,
) -> FeatureDataset:
    """Windows -> balanced examples -> grouped split -> one-vs-rest labels -> written dataset."""
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"dataset '{name}': test_fraction must be in (0, 1), "
                           f"got {test_fraction}")
    if examples_per_language < MIN_FILES_PER_LANGUAGE:
        raise DatasetError(f"dataset '{name}': examples_per_language must be >= "
                           f"{MIN_FILES_PER_LANGUAGE}, got {examples_per_language}")
    by_language = _windows_by_language(files, languages, windowing, seed)
    _check_supply(name, origin, by_language, min_examples)
    available = {lang: sum(len(w) for w in files) for lang, files in by_language.items()}
    n = min(examples_per_language, *available.values())
    rows, counts = [], {}
    for language in languages:
        picked = _round_robin(by_language[language], n, random.Random(f"{seed}:pick:{language}"))
        test = _test_documents(picked, test_fraction, random.Random(f"{seed}:split:{language}"))
        rows += [(w.document, w.text, w.language, "test" if w.document in test else "train")
                 for w in picked]
        counts[language] = {
            "files": len(by_language[language]),
            "windows": available[language],
            "examples": n,
            "files_used": len({w.document for w in picked}),
            "test_examples": sum(w.document in test for w in picked),
        }
    examples = pl.DataFrame(
        rows, schema=["document_id", "text", "stratum", "split"], orient="row"
    ).with_columns(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        span_start=pl.lit(windowing.skip_chars, pl.Int64),
        span_end=pl.col("text").str.len_chars().cast(pl.Int64),
    )
    labels = pl.concat(
        examples.select(feature=pl.lit(language), example_id="example_id",
                        label=pl.col("stratum") == language)
        for language in languages
    )
    return write_feature_dataset(
        out_dir, name=name, category="code_language", aggregation=aggregation,
        examples=examples, labels=labels,
        meta={
            **meta,
            "languages": languages,
            "examples_per_language": n,
            "per_language": counts,
            "chars_per_example": windowing.chars_per_example,
            "skip_chars": windowing.skip_chars,
            "max_windows_per_file": windowing.max_windows_per_file,
            "min_span_chars": windowing.min_span_chars,
            "seed": seed,
            "test_fraction": test_fraction,
        },
    )


def _checked_languages(name: str, languages: list[str], extra: list[str] | None) -> list[str]:
    wanted = list(languages) + list(extra or [])
    duplicates = sorted({x for x in wanted if wanted.count(x) > 1})
    if duplicates:
        raise DatasetError(f"dataset '{name}': languages listed twice: {duplicates}")
    if len(wanted) < 2:
        raise DatasetError(f"dataset '{name}': needs at least two languages, got {wanted}")
    return wanted


# --------------------------------------------------------------------------------------------
# Pygments sdist


def _sdist_paths(tar) -> dict[str, object]:
    """Regular files of the sdist by path relative to its root folder (``pygments-X.Y.Z/``)."""
    members = {}
    for member in tar.getmembers():
        if member.isfile() and "/" in member.name:
            members[member.name.split("/", 1)[1]] = member
    return members


def pygments_language_files(name: str, language: str, folders: set[str]) -> LanguageFiles:
    """The file mapping of one requested language: a named entry, or an examplefiles folder."""
    if language in PYGMENTS_LANGUAGES:
        return PYGMENTS_LANGUAGES[language]
    if language in folders:
        return LanguageFiles(language, (language,))
    raise DatasetError(
        f"dataset '{name}': unknown code language '{language}': neither a named language "
        f"({sorted(PYGMENTS_LANGUAGES)}) nor a tests/examplefiles folder of the source"
    )


def select_pygments_files(spec: LanguageFiles, paths: list[str]) -> list[str]:
    """Sdist paths (sorted) that count for ``spec`` under the module's mapping."""
    selected = []
    for path in sorted(paths):
        if path in PYGMENTS_EXCLUDED_FILES or path.endswith(".output"):
            continue
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in spec.excluded):
            continue
        if path.startswith(_EXAMPLEFILES):
            folder = path[len(_EXAMPLEFILES):].split("/", 1)[0]
            lower = posixpath.basename(path).lower()
            if path.count("/") >= 3 and folder in spec.folders and (
                not spec.endings or lower.endswith(spec.endings)
            ):
                selected.append(path)
        elif not path.startswith("tests/") and any(
            fnmatch.fnmatchcase(path, pattern) for pattern in spec.patterns
        ):
            selected.append(path)
    return selected


def read_pygments_files(source: Path, name: str,
                        languages: list[str]) -> tuple[list[CodeFile], dict]:
    """The files of every requested language from the sdist; also what was read, for meta."""
    with open_tarball(source) as tar:
        members = _sdist_paths(tar)
        paths = list(members)
        folders = {p[len(_EXAMPLEFILES):].split("/", 1)[0] for p in paths
                   if p.startswith(_EXAMPLEFILES) and p.count("/") >= 3}
        if not folders:
            raise DatasetError(f"dataset '{name}': {source} has no tests/examplefiles/<lexer>/ "
                               "files (not a Pygments source distribution?)")
        wanted: dict[str, list[str]] = {}  # path -> languages that read it
        mapping = {}
        for language in languages:
            spec = pygments_language_files(name, language, folders)
            selected = select_pygments_files(spec, paths)
            mapping[language] = {"folders": list(spec.folders), "endings": list(spec.endings),
                                 "patterns": list(spec.patterns), "files": len(selected)}
            for path in selected:
                wanted.setdefault(path, []).append(language)
        files, undecodable = [], []
        for path in paths:  # archive order: one pass through the compressed stream
            if path not in wanted:
                continue
            text = decode_source(tar.extractfile(members[path]).read())
            if text is None:
                undecodable.append(path)
                continue
            files += [CodeFile(language, path, text) for language in wanted[path]]
    return files, {"mapping": mapping, "undecodable_files": sorted(undecodable)}


def build_code_language(
    source: Path,
    out_dir: Path,
    *,
    languages: list[str],
    examples_per_language: int,
    chars_per_example: int,
    skip_chars: int,
    aggregation: str,
    test_fraction: float,
    seed: int,
    name: str = "code_language",
    extra_languages: list[str] | None = None,
    max_windows_per_file: int = 4,
    min_examples_per_language: int = 10,
    min_span_chars: int | None = None,
) -> FeatureDataset:
    """Code-language identification from the Pygments sdist's example files: one one-vs-rest
    feature per language (``languages`` then ``extra_languages``), windows of real source files
    read after their first ``skip_chars`` characters. See the module docstring."""
    source = Path(source)
    wanted = _checked_languages(name, languages, extra_languages)
    windowing = Windowing.checked(name, chars_per_example, skip_chars, max_windows_per_file,
                                  min_span_chars)
    files, read_meta = read_pygments_files(source, name, wanted)
    return _assemble(
        name, source.name, files, wanted, examples_per_language=examples_per_language,
        windowing=windowing, min_examples=min_examples_per_language, aggregation=aggregation,
        test_fraction=test_fraction, seed=seed, out_dir=out_dir,
        meta={
            "description": "Code-language identification, one-vs-rest per language: windows "
            "of real source files from the Pygments sdist (tests/examplefiles), read after "
            "their first skip_chars characters.",
            "source": f"pygments sdist {source.name}",
            **read_meta,
        },
    )


# --------------------------------------------------------------------------------------------
# GitHub code dumps

LANGUAGE_ALIASES = {
    "c": "C", "c++": "C++", "cpp": "C++", "cxx": "C++", "go": "Go", "golang": "Go",
    "html": "HTML", "xhtml": "HTML", "java": "Java", "javascript": "JavaScript",
    "js": "JavaScript", "php": "PHP", "python": "Python", "py": "Python", "xml": "XML",
    "rust": "Rust", "ruby": "Ruby", "haskell": "Haskell", "typescript": "TypeScript",
    "ts": "TypeScript", "c#": "C#", "csharp": "C#", "scala": "Scala", "kotlin": "Kotlin",
    "swift": "Swift", "lua": "Lua", "perl": "Perl", "shell": "Shell", "bash": "Shell",
    "julia": "Julia", "css": "CSS", "sql": "SQL", "fortran": "Fortran", "tex": "TeX",
    "markdown": "Markdown", "r": "R", "dart": "Dart", "ocaml": "OCaml",
}
"""Lower-case language names of code dumps -> this module's names (codeparrot says ``GO``,
``FORTRAN``); a name not listed is kept as written."""

EXTENSION_LANGUAGES = {
    **dict.fromkeys((".c", ".h"), "C"),
    **dict.fromkeys((".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++"), "C++"),
    ".go": "Go",
    **dict.fromkeys((".html", ".htm", ".xhtml"), "HTML"),
    ".java": "Java",
    **dict.fromkeys((".js", ".mjs", ".cjs"), "JavaScript"),
    **dict.fromkeys((".php", ".php3", ".php4", ".php5"), "PHP"),
    ".py": "Python",
    **dict.fromkeys((".xml", ".xsl", ".xslt", ".xsd"), "XML"),
    ".rs": "Rust", ".rb": "Ruby", ".hs": "Haskell",
    **dict.fromkeys((".ts", ".tsx"), "TypeScript"),
    ".cs": "C#", ".scala": "Scala", ".kt": "Kotlin", ".swift": "Swift", ".lua": "Lua",
    **dict.fromkeys((".pl", ".pm"), "Perl"),
    **dict.fromkeys((".sh", ".bash"), "Shell"),
    ".jl": "Julia", ".css": "CSS", ".sql": "SQL", ".f90": "Fortran", ".tex": "TeX",
    ".md": "Markdown", ".dart": "Dart", ".ml": "OCaml",
}
"""File extension (lower case) -> language, for rows without a language column. ``.h`` counts
as C (as in codeparrot); template extensions (``.phtml``, ``.jsx``, ``.vue``...) map to none."""


def canonical_language(value: str) -> str:
    """A dump's language name in this module's spelling (``GO`` -> ``Go``)."""
    return LANGUAGE_ALIASES.get(value.strip().lower(), value.strip())


def extension_language(path: str) -> str | None:
    """The language a file path's extension says, or None."""
    return EXTENSION_LANGUAGES.get(posixpath.splitext(path)[1].lower())


def _first_column(frame: pl.DataFrame, path: Path, given: str | None,
                  candidates: tuple[str, ...], what: str, required: bool) -> pl.Series | None:
    if given is not None:
        return column(frame, path, given).cast(pl.String)
    for candidate in candidates:
        if candidate in frame.columns:
            return frame[candidate].cast(pl.String)
    if required:
        raise DatasetError(f"{path}: no {what} column (looked for {list(candidates)}; "
                           f"columns: {frame.columns})")
    return None


def read_github_files(path: Path, *, code_column: str | None = None,
                      language_column: str | None = None,
                      path_column: str | None = None) -> list[CodeFile]:
    """The rows of one code dump as files: code, language (column or path extension), path
    (``repo_name/path`` when both exist). Rows without code or a language are skipped."""
    path = Path(path)
    frame = read_table(path)
    code = _first_column(frame, path, code_column, ("code", "content", "text"), "code", True)
    language = _first_column(frame, path, language_column, ("language", "lang"), "language",
                             False)
    file_path = _first_column(frame, path, path_column, ("path", "file_path", "file_name"),
                              "path", False)
    if language is None and file_path is None:
        raise DatasetError(f"{path}: needs a language column or a path column whose extension "
                           f"gives the language (columns: {frame.columns})")
    repo = frame["repo_name"].cast(pl.String) if "repo_name" in frame.columns else None
    files = []
    for i, text in enumerate(code.to_list()):
        where = file_path[i] if file_path is not None else None
        label = language[i] if language is not None else None
        label = canonical_language(label) if label else (
            extension_language(where) if where else None)
        if not text or not label:
            continue
        repo_name = repo[i] if repo is not None else None
        where = "/".join(p for p in (repo_name, where) if p) or f"{path.name}:{i}"
        files.append(CodeFile(label, where, text.replace("\r\n", "\n").replace("\r", "\n")))
    return files


def build_code_language_github(
    paths: list[Path],
    out_dir: Path,
    *,
    languages: list[str],
    examples_per_language: int,
    chars_per_example: int,
    skip_chars: int,
    aggregation: str,
    test_fraction: float,
    seed: int,
    name: str = "code_language",
    extra_languages: list[str] | None = None,
    max_windows_per_file: int = 4,
    min_examples_per_language: int = 10,
    min_span_chars: int | None = None,
    code_column: str | None = None,
    language_column: str | None = None,
    path_column: str | None = None,
) -> FeatureDataset:
    """Code-language identification from GitHub code dumps (the paper's kind of source), with
    the same windows, balance and grouped split as :func:`build_code_language`. Requested
    language names are normalised like the dump's (``golang`` -> feature ``Go``)."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise DatasetError(f"dataset '{name}': no code dump files given")
    wanted = _checked_languages(name, [canonical_language(x) for x in languages],
                                [canonical_language(x) for x in extra_languages or []])
    windowing = Windowing.checked(name, chars_per_example, skip_chars, max_windows_per_file,
                                  min_span_chars)
    files = [
        f for p in paths
        for f in read_github_files(p, code_column=code_column, language_column=language_column,
                                   path_column=path_column)
    ]
    present = sorted({f.language for f in files})
    missing = [language for language in wanted if language not in present]
    if missing:
        raise DatasetError(f"dataset '{name}': no files of language {missing} in "
                           f"{[p.name for p in paths]} (present: {present[:30]})")
    files = [f for f in files if f.language in wanted]
    origin = ", ".join(p.name for p in paths)
    return _assemble(
        name, origin, files, wanted, examples_per_language=examples_per_language,
        windowing=windowing, min_examples=min_examples_per_language, aggregation=aggregation,
        test_fraction=test_fraction, seed=seed, out_dir=out_dir,
        meta={
            "description": "Code-language identification, one-vs-rest per language: windows "
            "of files from GitHub code dumps, read after their first skip_chars characters.",
            "source": [str(p) for p in paths],
        },
    )
