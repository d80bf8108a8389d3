"""Preflight of every declared model at DAG time, before any job runs.

A ``local`` model's directory must exist and hold a ``config.json``; a ``hub`` model's
``config.json`` is read from the local hub cache, and with ``HF_HUB_OFFLINE`` set a model that
is not cached fails at once with the fix in the message (it would otherwise fail only when its
extraction job runs, after every dataset has been built). The shape the model's own config
states (``n_layers``, ``d_mlp``) fills in what the workflow config leaves out and must match
what it states. Ladder rungs are trained by the DAG and are not checked here.

Only JSON is read (no torch, no network): the check says the config describes the weights
the job will load; it does not load them, so a directory with a config and broken weights still
fails in its extraction job (ModelLoadError naming the model).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from sparseprobe.config import ConfigError, ModelSpec
from sparseprobe.errors import ModelLoadError

LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
"""config.json keys of the number of transformer blocks (GPT-NeoX/BERT/Llama, GPT-2, T5, ...)."""
MLP_KEYS = ("intermediate_size", "n_inner", "ffn_dim", "d_ff", "d_mlp")
"""config.json keys of the MLP width (GPT-NeoX/BERT/Llama, GPT-2, OPT, T5, TransformerLens)."""
WIDTH_KEYS = ("hidden_size", "n_embd", "d_model")
"""The residual width, for GPT-2-style configs whose ``n_inner`` is null (4 x width)."""


def _first(data: dict, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        if isinstance(data.get(key), int):
            return int(data[key])
    return None


def shape_from_config(data: dict, where: str) -> tuple[int, int]:
    """(n_layers, d_mlp) from a model's ``config.json`` content; ModelLoadError naming
    ``where`` and the keys looked for when either is absent."""
    n_layers = _first(data, LAYER_KEYS)
    d_mlp = _first(data, MLP_KEYS)
    if d_mlp is None and data.get("n_inner", 0) is None and _first(data, WIDTH_KEYS):
        d_mlp = 4 * _first(data, WIDTH_KEYS)
    if n_layers is None or d_mlp is None:
        missing = [name for name, value, keys in (("n_layers", n_layers, LAYER_KEYS),
                                                  ("d_mlp", d_mlp, MLP_KEYS)) if value is None]
        raise ModelLoadError(
            f"{where}: cannot read {missing} (looked for {list(LAYER_KEYS)} and "
            f"{list(MLP_KEYS)}); declare n_layers and d_mlp in the model's model_catalog entry")
    return n_layers, d_mlp


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def model_config_path(spec: ModelSpec) -> Path:
    """The ``config.json`` a model's extraction job will load: in its local directory, or in
    the hub cache. ModelLoadError with the fix when it is not there."""
    where = f"model '{spec.name}'"
    if spec.source_kind in ("local", "package"):
        directory = Path(spec.source)
        if not directory.is_dir():
            raise ModelLoadError(
                f"{where}: local directory '{directory}' does not exist (model_catalog local: "
                f"a directory holding config.json and the weights, relative to the workflow "
                f"directory {Path.cwd()})")
        path = directory / "config.json"
        if not path.is_file():
            raise ModelLoadError(f"{where}: '{directory}' has no config.json; is it a saved "
                                 f"HF model directory (save_pretrained)?")
        return path
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(spec.source, "config.json", revision=spec.revision)
    if isinstance(cached, str):
        return Path(cached)
    revision = f" revision {spec.revision}" if spec.revision else ""
    if _offline():
        raise ModelLoadError(
            f"{where}: hub id '{spec.source}'{revision} is not in the local hub cache and "
            f"HF_HUB_OFFLINE is set. Fix: download it once with network access (unset "
            f"HF_HUB_OFFLINE), or save it to a directory and declare it as "
            f"'local: DIR' in model_catalog")
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(spec.source, "config.json", revision=spec.revision))
    except Exception as exc:  # the hub client raises many types (network, 404, auth)
        raise ModelLoadError(f"{where}: cannot fetch config.json of '{spec.source}'"
                             f"{revision} ({type(exc).__name__}: {exc})") from exc


def preflight_model(spec: ModelSpec, plan_only: bool = False) -> ModelSpec:
    """``spec`` with ``n_layers``/``d_mlp`` read from the model's own config.json where the
    workflow config leaves them out. ConfigError when a declared value or a ``layers`` entry
    disagrees with the model; ModelLoadError when the model or its config cannot be found.

    ``plan_only`` (a dry run, ``snakemake -n``): a hub model that cannot be reached but whose
    entry declares both ``n_layers`` and ``d_mlp`` is planned from them, with a warning on
    stderr, so a cluster run can be planned on a machine without the weights."""
    if spec.source_kind == "ladder":
        return spec
    if spec.source_kind == "package" and not (Path(spec.source) / "config.json").is_file():
        # unpacked by the workflow (rule unpack_model): checked once it is there
        if None in (spec.n_layers, spec.d_mlp):
            width = "d_model (its residual stream: bases)" if spec.basis else "d_mlp"
            raise ConfigError(
                f"model_catalog.{spec.base or spec.name}: a package model is unpacked by the "
                f"workflow, so its n_layers and {width} must be declared to plan the first run")
        return spec
    try:
        path = model_config_path(spec)
    except ModelLoadError as exc:
        if plan_only and spec.source_kind == "hub" and None not in (spec.n_layers, spec.d_mlp):
            print(f"sparseprobe preflight (dry run, shape from the config): {exc}",
                  file=sys.stderr)
            return spec
        raise
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"model '{spec.name}': {path} is not readable JSON ({exc})") from exc
    n_layers, d_mlp = shape_from_config(data, f"model '{spec.name}': {path}")
    where = f"model_catalog.{spec.base or spec.name}"
    if spec.basis is not None:  # the residual stream: d_model columns, whatever d_mlp says
        d_model = _first(data, WIDTH_KEYS)
        if d_model is None:
            raise ModelLoadError(f"model '{spec.name}': {path}: cannot read the residual width "
                                 f"(looked for {list(WIDTH_KEYS)})")
        return replace(spec, n_layers=n_layers, d_mlp=int(d_model))
    for key, declared, actual in (("n_layers", spec.n_layers, n_layers),
                                  ("d_mlp", spec.d_mlp, d_mlp)):
        if declared is not None and declared != actual:
            raise ConfigError(f"{where}.{key}: declared {declared}, but {path} says {actual}")
    if spec.layers and max(spec.layers) >= n_layers:
        raise ConfigError(f"{where}.layers: {max(spec.layers)} >= n_layers {n_layers} ({path})")
    return replace(spec, n_layers=n_layers, d_mlp=d_mlp)


def dry_run_requested(argv: list[str]) -> bool:
    """Whether a Snakemake command line asks for a dry run (``-n``, ``-np``, ``--dry-run``,
    ``--dryrun``). Snakemake 9 only knows ``workflow.dryrun`` once its executor is chosen, after
    the Snakefile (and so the preflight) has been read; the command line is known before."""
    for arg in argv[1:]:
        if arg in ("--dry-run", "--dryrun"):
            return True
        if arg.startswith("-") and not arg.startswith("--") and "n" in arg[1:] and arg[1:].isalpha():
            return True
    return False


def preflight_models(specs: dict[str, ModelSpec], plan_only: bool = False
                     ) -> dict[str, ModelSpec]:
    """:func:`preflight_model` on every spec, in order; every failure is reported together."""
    out: dict[str, ModelSpec] = {}
    errors: list[str] = []
    for key, spec in specs.items():
        try:
            out[key] = preflight_model(spec, plan_only)
        except (ModelLoadError, ConfigError) as exc:
            errors.append(str(exc))
    if errors:
        raise ModelLoadError("model preflight failed:\n  " + "\n  ".join(errors))
    return out
