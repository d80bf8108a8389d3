"""SAEs in SAELens' saved format: a directory with ``cfg.json`` and ``sae_weights.safetensors``.

Weights (float32 when written here; any float dtype is read and cast to float32):
``W_enc`` [d_in, d_sae], ``b_enc`` [d_sae], ``W_dec`` [d_sae, d_in], ``b_dec`` [d_in].

``cfg.json`` as written here: ``architecture: "topk"``, ``d_in``, ``d_sae``, ``k``,
``hook_name`` (``blocks.{L}.{hook}``), ``hook_layer``, ``model_name``, ``dtype``, ``device``,
``apply_b_dec_to_input``, ``normalize_activations: "none"``, and, for older readers,
``activation_fn: "topk"`` with ``activation_fn_kwargs: {"k": k}``. Read back: ``k`` from
``k`` or ``activation_fn_kwargs.k``; the hook from ``hook_name`` at the top level or under
``metadata`` / ``meta`` (where newer SAELens versions keep it); the architecture from
``architecture`` or ``activation_fn`` / ``activation_fn_str``. Only TopK SAEs with
``normalize_activations: "none"`` are read (an SAE that rescales its input would need the scale
applied to the activations first). A training record, when given, is written beside them as
``training_record.json`` (SAELens ignores extra files).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from sparseprobe.bases.sae import SAEConfig, SAEError, SAETrainingRecord, TopKSAE

CFG_FILENAME = "cfg.json"
WEIGHTS_FILENAME = "sae_weights.safetensors"
RECORD_FILENAME = "training_record.json"
WEIGHT_KEYS = ("W_enc", "b_enc", "W_dec", "b_dec")


def save_sae(sae: TopKSAE, out_dir: Path, record: SAETrainingRecord | None = None) -> Path:
    """Write ``sae`` (and its training ``record``) to ``out_dir`` in SAELens' layout."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {key: getattr(sae, key).detach().to("cpu", torch.float32).contiguous()
               for key in WEIGHT_KEYS}
    save_file(tensors, str(out_dir / WEIGHTS_FILENAME))
    (out_dir / CFG_FILENAME).write_text(json.dumps(config_dict(sae.cfg), indent=2) + "\n")
    if record is not None:
        (out_dir / RECORD_FILENAME).write_text(json.dumps(record.to_dict(), indent=2) + "\n")
    return out_dir


def config_dict(cfg: SAEConfig) -> dict:
    """The ``cfg.json`` of an SAE (see the module docstring)."""
    return {
        "architecture": "topk", "d_in": cfg.d_in, "d_sae": cfg.d_sae, "k": cfg.k,
        "dtype": "float32", "device": "cpu", "apply_b_dec_to_input": cfg.apply_b_dec_to_input,
        "normalize_activations": "none", "hook_name": cfg.hook_name,
        "hook_layer": cfg.hook_layer, "model_name": cfg.model_name,
        "activation_fn": "topk", "activation_fn_kwargs": {"k": cfg.k},
    }


def load_sae(sae_dir: Path) -> TopKSAE:
    """The TopK SAE saved in ``sae_dir``. Raises SAEError naming the file and key when a file
    is missing or unreadable, the architecture is not TopK, a key is missing, or a weight's
    shape disagrees with ``d_in`` / ``d_sae``."""
    sae_dir = Path(sae_dir)
    cfg = read_config(sae_dir / CFG_FILENAME)
    weights_path = sae_dir / WEIGHTS_FILENAME
    if not weights_path.is_file():
        raise SAEError(f"{weights_path}: missing (an SAELens directory holds {CFG_FILENAME} "
                       f"and {WEIGHTS_FILENAME})")
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise SAEError(f"{weights_path}: unreadable safetensors file ({exc})") from exc
    expected = {"W_enc": (cfg.d_in, cfg.d_sae), "b_enc": (cfg.d_sae,),
                "W_dec": (cfg.d_sae, cfg.d_in), "b_dec": (cfg.d_in,)}
    sae = TopKSAE(cfg, source=sae_dir)
    with torch.no_grad():
        for key, shape in expected.items():
            if key not in tensors:
                raise SAEError(f"{weights_path}: key '{key}' missing (has "
                               f"{sorted(tensors)}); a TopK SAE needs {list(WEIGHT_KEYS)}")
            tensor = tensors[key]
            if tuple(tensor.shape) != shape:
                raise SAEError(
                    f"{weights_path}: key '{key}' has shape {list(tensor.shape)}, but "
                    f"{CFG_FILENAME} (d_in={cfg.d_in}, d_sae={cfg.d_sae}) needs {list(shape)}")
            if not tensor.is_floating_point():
                raise SAEError(f"{weights_path}: key '{key}' has dtype {tensor.dtype}, "
                               f"expected a float")
            getattr(sae, key).copy_(tensor.to(torch.float32))
    return sae.eval()


def read_config(path: Path) -> SAEConfig:
    """The :class:`SAEConfig` of an SAELens ``cfg.json`` (see the module docstring)."""
    if not path.is_file():
        raise SAEError(f"{path}: missing (an SAELens directory holds {CFG_FILENAME} and "
                       f"{WEIGHTS_FILENAME})")
    try:
        raw = json.loads(path.read_text())
    except ValueError as exc:
        raise SAEError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise SAEError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    architecture = raw.get("architecture") or raw.get("activation_fn_str") or raw.get(
        "activation_fn")
    if architecture != "topk" and raw.get("activation_fn") != "topk":
        raise SAEError(f"{path}: key 'architecture' is {architecture!r}; only TopK SAEs "
                       f"('topk') are supported")
    if raw.get("normalize_activations", "none") not in ("none", None):
        raise SAEError(f"{path}: key 'normalize_activations' is "
                       f"{raw['normalize_activations']!r}; only 'none' is supported (fold the "
                       f"input scale into the weights first)")
    k = raw.get("k", (raw.get("activation_fn_kwargs") or {}).get("k"))
    for key, value in (("d_in", raw.get("d_in")), ("d_sae", raw.get("d_sae")), ("k", k)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise SAEError(f"{path}: key '{key}' is {value!r}, expected an integer")
    meta = raw.get("metadata") or raw.get("meta") or {}
    hook_name = raw.get("hook_name") or (meta.get("hook_name") if isinstance(meta, dict) else "")
    model_name = raw.get("model_name") or (meta.get("model_name") if isinstance(meta, dict)
                                           else "")
    try:
        return SAEConfig(d_in=raw["d_in"], d_sae=raw["d_sae"], k=k, hook_name=hook_name or "",
                         model_name=model_name or "",
                         apply_b_dec_to_input=bool(raw.get("apply_b_dec_to_input", True)))
    except SAEError as exc:
        raise SAEError(f"{path}: {exc}") from exc


def read_record(sae_dir: Path) -> SAETrainingRecord | None:
    """The training record saved beside an SAE, None when there is none (a pretrained one)."""
    path = Path(sae_dir) / RECORD_FILENAME
    if not path.is_file():
        return None
    try:
        return SAETrainingRecord(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise SAEError(f"{path}: unreadable training record ({exc})") from exc
