"""``sparseprobe verify [--fix]``: is every cached result under ``results/`` intact and of the
model and dataset it claims?

Checks each activation store (``model.json`` readable and of the current format, every chunk
present and decoding with its checksum, dataset fingerprint against the dataset's tables
recomputed, model fingerprint against ``results/models/{model}/fingerprint.json``, and that file
against the model's files hashed now) and each Parquet file (footer and every row group
readable). ``--fix`` removes each bad file and whatever Snakemake recorded as built from it
(``.snakemake/metadata``), so a plain ``snakemake`` rebuilds exactly those. A store or table
removed by hand is found through the same records (an output still there whose input is gone).

What a clean report establishes: the bytes read back are those written, by the model and dataset
named. It does not establish that they are right (a bug in extraction stays a bug).
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sparseprobe.activations.store import (
    STORE_FORMAT,
    _read_chunked,
    dataset_fingerprint,
    open_layer,
    read_store_info,
    rebuild_command,
)
from sparseprobe.config import ModelSpec
from sparseprobe.datasets import load_feature_dataset
from sparseprobe.errors import SparseProbeError
from sparseprobe.models.identity import changed_files, model_fingerprint, read_fingerprint


@dataclass(frozen=True)
class Problem:
    """One bad file or store: why, and the command that rebuilds it."""

    path: Path
    reason: str

    @property
    def rebuild(self) -> str:
        return rebuild_command(self.path)


def verify_store(store_dir: Path, results: Path) -> list[Problem]:
    """The problems of one activation store (empty: intact and of its model and dataset)."""
    try:
        info = read_store_info(store_dir)
    except SparseProbeError as exc:
        return [Problem(store_dir, str(exc))]
    if info.format < STORE_FORMAT:
        return [Problem(store_dir, f"store format {info.format}, expected {STORE_FORMAT} "
                                   "(no chunk checksums, no model fingerprint)")]
    problems = []
    for layer in info.layers:
        try:
            _read_chunked(store_dir, layer, open_layer(store_dir, layer), None)
        except SparseProbeError as exc:
            problems.append(Problem(store_dir, str(exc)))
    dataset_dir = results / "datasets" / info.dataset
    if dataset_dir.is_dir():
        problems += _made_from(
            store_dir, dataset_dir, info.dataset_fingerprint,
            lambda: dataset_fingerprint(load_feature_dataset(dataset_dir)),
            lambda now: f"dataset '{info.dataset}' now hashes to {now}")
    recorded = results / "models" / info.model / "fingerprint.json"
    if recorded.is_file():
        problems += _made_from(
            store_dir, recorded, info.model_fingerprint,
            lambda: read_fingerprint(recorded).digest,
            lambda now: f"model '{info.model}' has fingerprint {now} ({recorded})")
    return problems


def _made_from(store_dir: Path, source: Path, stored: str, current: Callable[[], str],
               describe: Callable[[str], str]) -> list[Problem]:
    """The store's problem when ``source`` hashes to something else now (``current()``) than
    the digest the store recorded (``stored``); ``source``'s own problem when it cannot be read.
    ``describe(now)`` says what ``source`` is now."""
    try:
        now = current()
    except SparseProbeError as exc:
        return [Problem(source, str(exc))]
    if now == stored:
        return []
    return [Problem(store_dir, f"{describe(now)}, the store was made from {stored}")]


def verify_fingerprint(path: Path) -> list[Problem]:
    """A ``fingerprint.json`` against the model's files (or hub commit) as they are now."""
    try:
        recorded = read_fingerprint(path)
        spec = ModelSpec(name=recorded.model, family="", source_kind=recorded.source_kind,
                         source=recorded.source, revision=recorded.revision)
        if recorded.source_kind == "hub":
            return []  # resolving a moved revision needs the hub; the cache cannot tell
        now = model_fingerprint(spec)
    except SparseProbeError as exc:
        return [Problem(path, str(exc))]
    changed = changed_files(recorded, now)
    if now.digest != recorded.digest:
        return [Problem(path, f"model '{recorded.model}' files changed since it was "
                              f"fingerprinted: {', '.join(changed) or 'content'}")]
    return []


def verify_parquet(path: Path) -> list[Problem]:
    """A Parquet file whose footer or any row group cannot be read."""
    import pyarrow.parquet as pq

    try:
        pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        return [Problem(path, f"unreadable Parquet ({exc})")]
    return []


def verify_results(results: Path) -> list[Problem]:
    """Every problem under ``results``: model fingerprints, stores, Parquet files, then
    recorded inputs that are gone."""
    results = Path(results)
    problems = []
    for path in sorted(results.glob("models/*/fingerprint.json")):
        problems += verify_fingerprint(path)
    for store in sorted(p for p in results.glob("activations/*/*") if p.is_dir()):
        if not store.name.endswith(".partial"):
            problems += verify_store(store, results)
    for path in sorted(results.rglob("*.parquet")):
        if "activations" not in path.relative_to(results).parts[:1]:
            problems += verify_parquet(path)
    return problems + missing_inputs(results)


def missing_inputs(results: Path) -> list[Problem]:
    """Files or stores under ``results`` that Snakemake recorded as the input of an output
    still present, but that are gone (removed by hand or by a failed job): Snakemake itself
    would say "Nothing to be done", the consumers being newer."""
    results = Path(results)
    workdir = results.parent
    gone: dict[str, str] = {}
    for output, inputs in recorded_inputs(workdir).items():
        if not (workdir / output).exists():
            continue
        for name in inputs:
            path = workdir / name
            if _under(name, {results.name}) and not path.exists():
                gone.setdefault(name, output)
    return [Problem(workdir / name, f"missing, but {output} was built from it")
            for name, output in sorted(gone.items())]


def recorded_inputs(workdir: Path) -> dict[str, list[str]]:
    """Output -> input paths, as Snakemake recorded them in ``workdir/.snakemake/metadata``
    (empty when the run left no metadata)."""
    root = Path(workdir) / ".snakemake" / "metadata"
    out: dict[str, list[str]] = {}
    for record in (p for p in root.rglob("*") if p.is_file()) if root.is_dir() else ():
        encoded = "".join(part.lstrip("@") for part in record.relative_to(root).parts)
        try:
            output = base64.urlsafe_b64decode(encoded).decode()
            out[output] = list(json.loads(record.read_text()).get("input") or [])
        except (ValueError, UnicodeDecodeError):
            continue
    return out


def built_from(paths: list[Path], workdir: Path) -> list[Path]:
    """Every output Snakemake built, directly or not, from any of ``paths`` (relative to
    ``workdir``), from its recorded inputs."""
    inputs = recorded_inputs(workdir)
    bad = {str(Path(p).resolve().relative_to(Path(workdir).resolve())) for p in paths}
    found: set[str] = set()
    frontier = set(bad)
    while frontier:
        frontier = {out for out, ins in inputs.items()
                    if out not in found | bad and any(_under(i, frontier) for i in ins)}
        found |= frontier
    return sorted(Path(workdir) / p for p in found)


def _under(path: str, roots: set[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def fix(problems: list[Problem], workdir: Path) -> list[Path]:
    """Remove each bad path and everything built from it; returns what was removed."""
    bad = sorted({p.path for p in problems})
    removed = []
    for path in bad + built_from(bad, workdir):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed
