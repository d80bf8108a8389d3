"""Reading LaTeX sources: the files of an sdist or tarball, and arXiv e-prints (main file,
inlined inputs, the bibliography).

Sources
-------
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
from pathlib import Path

from sparseprobe.datasets.latex.regions import mask_ignored
from sparseprobe.errors import DatasetError, SourceError
from sparseprobe.sources.packages import open_tarball, open_wheel

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


def select_documents(name: str, archive: Path, files: dict[str, str],
                     documents: list[str] | None) -> dict[str, str]:
    """The archive's ``.tex`` files named by (a path suffix in) ``documents``, all when None."""
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
