"""The paper's code-language category: which programming language a window of a source file is.

One module per idea:

- ``windows``: cutting files into windows (span after ``skip_chars``), balancing languages and
  the file-grouped split, shared by both builders;
- ``pygments_examples``: the offline source, Pygments' example files (which files count for
  which language: :data:`PYGMENTS_LANGUAGES`);
- ``github``: GitHub code dumps you provide (the paper's source).

A positive label means "this window comes from a file of that language", not that every
character of it is that language, nor that a model represents the language rather than surface
statistics of the few projects a language's files come from.
"""

from sparseprobe.datasets.code.github import (
    EXTENSION_LANGUAGES,
    LANGUAGE_ALIASES,
    build_code_language_github,
    canonical_language,
    extension_language,
    read_github_files,
)
from sparseprobe.datasets.code.pygments_examples import (
    PYGMENTS_EXCLUDED_FILES,
    PYGMENTS_LANGUAGES,
    LanguageFiles,
    build_code_language,
    pygments_language_files,
    read_pygments_files,
    select_pygments_files,
)
from sparseprobe.datasets.code.windows import (
    MIN_FILES_PER_LANGUAGE,
    PAPER_CODE_LANGUAGES,
    CodeFile,
    Windowing,
    cut_windows,
    decode_source,
    file_windows,
)

__all__ = [
    "EXTENSION_LANGUAGES", "LANGUAGE_ALIASES", "MIN_FILES_PER_LANGUAGE", "PAPER_CODE_LANGUAGES",
    "PYGMENTS_EXCLUDED_FILES", "PYGMENTS_LANGUAGES", "CodeFile", "LanguageFiles", "Windowing",
    "build_code_language", "build_code_language_github", "canonical_language", "cut_windows",
    "decode_source", "extension_language", "file_windows", "pygments_language_files",
    "read_github_files", "read_pygments_files", "select_pygments_files",
]
