"""Code language from the example files of the Pygments source distribution (offline).

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
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparseprobe.datasets.code.windows import (
    CodeFile,
    CodeLanguageRequest,
    checked_languages,
    decode_source,
)
from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.errors import DatasetError
from sparseprobe.sources.packages import open_tarball


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


def build_code_language(source: Path, out_dir: Path, *, name: str = "code_language",
                        **request: Any) -> FeatureDataset:
    """Code-language identification from the Pygments sdist's example files: one one-vs-rest
    feature per language (``languages`` then ``extra_languages``), windows of real source files
    read after their first ``skip_chars`` characters; ``request``: the fields of
    :class:`~sparseprobe.datasets.code.windows.CodeLanguageRequest`. See the module
    docstring."""
    request = CodeLanguageRequest(**request)
    source = Path(source)
    wanted = checked_languages(name, request.languages, request.extra_languages)
    windowing = request.windowing(name)
    files, read_meta = read_pygments_files(source, name, wanted)
    return request.write(
        name, source.name, files, wanted, windowing, out_dir,
        meta={
            "description": "Code-language identification, one-vs-rest per language: windows "
            "of real source files from the Pygments sdist (tests/examplefiles), read after "
            "their first skip_chars characters.",
            "source": f"pygments sdist {source.name}",
            **read_meta,
        },
    )
