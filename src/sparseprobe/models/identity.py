"""What a model *is*, as a fingerprint an activation store can record and be checked against.

A local or ladder model is fingerprinted by the sha256 of its files (weights, config and
tokenizer files separately); a hub model by the commit its revision resolves to (the files of a
commit never change). The workflow writes one ``results/models/{model}/fingerprint.json`` per
model (rules/models.smk), so the weights are hashed once per model, not once per dataset, and
extraction reruns when that file changes.

What a fingerprint establishes: the bytes the model was loaded from. It does not establish that
two models with different fingerprints behave differently (e.g. a re-saved checkpoint).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sparseprobe.config import ModelSpec, ladder_output_dir
from sparseprobe.errors import ModelLoadError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt")
TOKENIZER_NAMES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.txt", "vocab.json", "merges.txt", "added_tokens.json",
                   "tokenizer.model", "spiece.model", "sentencepiece.bpe.model")
_BLOCK = 4 * 2**20


@dataclass(frozen=True)
class ModelFingerprint:
    """``weights``, ``config`` and ``tokenizer``: sha256 digests (local sources) or the resolved
    commit of a hub revision (then all three are that commit). ``files``: per-file sha256 of a
    local source (empty for the hub), so a mismatch can name the file that changed."""

    model: str
    source_kind: str
    source: str
    revision: str | None
    weights: str
    config: str
    tokenizer: str
    files: dict[str, str]

    @property
    def digest(self) -> str:
        """One string for the whole model: what stores record and are compared on."""
        return hashlib.sha256(
            f"{self.weights}:{self.config}:{self.tokenizer}".encode()).hexdigest()[:32]

    def to_dict(self) -> dict:
        return {**asdict(self), "digest": self.digest}

    @classmethod
    def from_dict(cls, data: dict) -> ModelFingerprint:
        fields = {k: v for k, v in data.items() if k != "digest"}
        return cls(**fields)


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _combined(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{files[name]}\n".encode())
    return digest.hexdigest()


def local_files(directory: Path) -> list[Path]:
    """The files that make a local model: weights, config.json and the tokenizer files, at any
    depth (hidden files and README-like documents left out)."""
    directory = Path(directory)
    out = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if (path.suffix in WEIGHT_SUFFIXES or path.name in TOKENIZER_NAMES
                or path.name == "config.json"):
            out.append(path)
    return out


def fingerprint_inputs(spec: ModelSpec) -> list[str]:
    """What the workflow's fingerprint of ``spec`` is computed from: a ladder rung's trained
    directory or a package model's unpacked one (both built by the DAG) or a local model's weight, config and tokenizer files (so a
    changed file re-runs the fingerprint and, through it, extraction); nothing for a hub model
    (a moved revision is found by ``sparseprobe verify`` against the hub, not by the DAG)."""
    if spec.source_kind == "ladder":  # a checkpoint lives inside its model's directory
        return [ladder_output_dir(spec)]
    if spec.source_kind == "package":  # unpacked by the DAG (rule unpack_model)
        return [str(spec.source)]
    if spec.source_kind == "local":
        return [str(path) for path in local_files(spec.source)] or [str(spec.source)]
    return []


def _local_fingerprint(spec: ModelSpec) -> ModelFingerprint:
    directory = Path(spec.source)
    if not directory.is_dir():
        raise ModelLoadError(f"model '{spec.name}': local directory {directory} does not exist")
    files = {str(p.relative_to(directory)): sha256_file(p) for p in local_files(directory)}
    weights = {k: v for k, v in files.items() if Path(k).suffix in WEIGHT_SUFFIXES}
    if not weights:
        raise ModelLoadError(f"model '{spec.name}': no weight file ({', '.join(WEIGHT_SUFFIXES)})"
                             f" in {directory}")
    config = {k: v for k, v in files.items() if Path(k).name == "config.json"}
    tokenizer = {k: v for k, v in files.items() if Path(k).name in TOKENIZER_NAMES}
    return ModelFingerprint(spec.name, spec.source_kind, str(spec.source), spec.revision,
                            _combined(weights), _combined(config), _combined(tokenizer), files)


def resolve_hub_commit(repo_id: str, revision: str | None) -> str:
    """The commit a hub revision points at: asked of the hub, or with ``HF_HUB_OFFLINE=1``
    read from the local cache (the snapshot directory a cached config.json lives in)."""
    from huggingface_hub import HfApi, try_to_load_from_cache

    if os.environ.get("HF_HUB_OFFLINE") != "1":
        try:
            return HfApi().model_info(repo_id, revision=revision).sha
        except Exception:  # noqa: BLE001 - no network: fall back to the cache
            pass
    cached = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    if isinstance(cached, str):
        return Path(cached).parent.name
    raise ModelLoadError(f"hub model '{repo_id}@{revision or 'main'}': cannot resolve its commit "
                         "(not reachable, not in the local cache)")


def model_fingerprint(spec: ModelSpec) -> ModelFingerprint:
    """The fingerprint of a declared model (hashes local files: ~0.2 s per 100 MB)."""
    if spec.local:
        return _local_fingerprint(spec)
    commit = resolve_hub_commit(str(spec.source), spec.revision)
    return ModelFingerprint(spec.name, spec.source_kind, str(spec.source), spec.revision,
                            commit, commit, commit, {})


def write_fingerprint(fingerprint: ModelFingerprint, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fingerprint.to_dict(), indent=2, sort_keys=True) + "\n")


def read_fingerprint(path: Path) -> ModelFingerprint:
    """A ``fingerprint.json`` written by :func:`write_fingerprint`."""
    path = Path(path)
    try:
        return ModelFingerprint.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"{path}: not a readable model fingerprint ({exc}); rebuild it with "
                             f"snakemake --forcerun {path}") from exc


def changed_files(old: ModelFingerprint, new: ModelFingerprint) -> list[str]:
    """The files whose hash differs between two fingerprints of a local model (added and
    removed files included); for hub models, the commit when it moved."""
    if not old.files and not new.files:
        return [] if old.weights == new.weights else [f"commit {old.weights} -> {new.weights}"]
    names = sorted(set(old.files) | set(new.files))
    return [n for n in names if old.files.get(n) != new.files.get(n)]
