"""Code language from GitHub code dumps you provide (the paper's kind of source).

``build_code_language_github`` reads the paper's kind of source: GitHub code dumps as
JSONL / JSONL.zst / Parquet / CSV tables (the codeparrot ``github-code`` layout: ``code``,
``repo_name``, ``path``, ``language``; ``codeparrot-clean``: ``content``), the language taken
from a ``language`` column (names normalised by :data:`LANGUAGE_ALIASES`, e.g. codeparrot's
``GO``) or else from the ``path``'s extension (:data:`EXTENSION_LANGUAGES`).
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import polars as pl

from sparseprobe.datasets.code.windows import (
    CodeFile,
    CodeLanguageRequest,
    checked_languages,
)
from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.datasets.table import column, read_table
from sparseprobe.errors import DatasetError

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
    paths: list[Path], out_dir: Path, *, name: str = "code_language",
    code_column: str | None = None, language_column: str | None = None,
    path_column: str | None = None, **request: Any,
) -> FeatureDataset:
    """Code-language identification from GitHub code dumps (the paper's kind of source), with
    the same windows, balance and grouped split as :func:`build_code_language` (``request``:
    the fields of :class:`~sparseprobe.datasets.code.windows.CodeLanguageRequest`). Requested
    language names are normalised like the dump's (``golang`` -> feature ``Go``)."""
    request = CodeLanguageRequest(**request)
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise DatasetError(f"dataset '{name}': no code dump files given")
    wanted = checked_languages(name, [canonical_language(x) for x in request.languages],
                               [canonical_language(x) for x in request.extra_languages or []])
    windowing = request.windowing(name)
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
    return request.write(
        name, ", ".join(p.name for p in paths), files, wanted, windowing, out_dir,
        meta={
            "description": "Code-language identification, one-vs-rest per language: windows "
            "of files from GitHub code dumps, read after their first skip_chars characters.",
            "source": [str(p) for p in paths],
        },
    )
