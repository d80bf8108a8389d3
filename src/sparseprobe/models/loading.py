"""Declared models and the one loader every model goes through.

A model is declared by name with a ``family`` and a ``source``: a hub id (optional revision),
a local HF directory, or a rung of the offline ladder (which the workflow trains into a local
directory first). Every kind is loaded by :func:`load_model` over
``TransformerBridge.boot_transformers``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from sparseprobe.config import ModelSpec
from sparseprobe.errors import ModelLoadError
from sparseprobe.models.hardware import ModelShape, resolve_dtype


@dataclass
class LoadedModel:
    """A loaded model with its tokenizer and shape."""

    spec: ModelSpec
    bridge: object
    tokenizer: object
    n_layers: int
    d_mlp: int
    n_parameters: int
    device: str
    dtype: str = "float32"  # the compute dtype the weights were loaded in
    d_model: int = 0
    n_heads: int = 0
    non_embedding_parameters: int = 0

    @property
    def shape(self) -> ModelShape:
        return ModelShape(self.n_layers, self.d_model, self.d_mlp, self.n_heads,
                          self.non_embedding_parameters)


def pick_device(requested: str = "auto") -> str:
    """``auto`` means the GPU when torch sees one, else the CPU."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def load_model(spec: ModelSpec, device: str = "auto", default_dtype: str = "float32"
               ) -> LoadedModel:
    """Load a declared model with TransformerBridge and check its declared shape.

    The weights are loaded in the model's own ``dtype`` when the config declares one, else in
    ``default_dtype`` (``extraction.dtype``); ``auto`` means bfloat16 on a GPU, float32 on a CPU.
    Raises ModelLoadError naming the model and source when loading fails (e.g. a hub id with no
    network), when the dtype is unknown, or when the declared ``n_layers``/``d_mlp`` disagree
    with the weights.
    """
    from transformer_lens.model_bridge import TransformerBridge

    device = pick_device(device)
    requested = spec.dtype or default_dtype
    try:
        dtype = resolve_dtype(requested, device)
    except ValueError as exc:
        raise ModelLoadError(f"model '{spec.name}': {exc}") from exc
    if spec.local and not Path(spec.source).is_dir():
        raise ModelLoadError(f"model '{spec.name}': local directory {spec.source} does not exist")
    try:
        bridge = TransformerBridge.boot_transformers(
            str(spec.source), device=device, dtype=getattr(torch, dtype),
            revision=spec.revision,
        )
    except Exception as exc:  # the hub, the file system and transformers raise many types
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = " (HF_HUB_OFFLINE=1: hub ids cannot be fetched)" if offline and not spec.local else ""
        raise ModelLoadError(
            f"model '{spec.name}': cannot load {spec.source_kind} source '{spec.source}"
            f"{'@' + spec.revision if spec.revision else ''}'{hint}: {exc}"
        ) from exc
    bridge.eval()
    n_layers, d_mlp = int(bridge.cfg.n_layers), int(bridge.cfg.d_mlp)
    # a basis variant (``spec.basis``) declares the width of its basis: d_model for the residual stream
    width = ("d_model", int(bridge.cfg.d_model)) if spec.basis else ("d_mlp", d_mlp)
    for key, declared, actual in (("n_layers", spec.n_layers, n_layers), (width[0], spec.d_mlp, width[1])):
        if declared is not None and declared != actual:
            raise ModelLoadError(
                f"model '{spec.name}': config declares {key}={declared}, the weights have {actual}"
            )
    tokenizer = load_tokenizer(spec)
    n_parameters, non_embedding = parameter_counts(spec)
    return LoadedModel(
        spec, bridge, tokenizer, n_layers, d_mlp, n_parameters, device, dtype=dtype,
        d_model=int(bridge.cfg.d_model), n_heads=int(bridge.cfg.n_heads),
        non_embedding_parameters=non_embedding,
    )


def parameter_counts(spec: ModelSpec) -> tuple[int, int]:
    """(all, non-embedding) parameters of the model as published: the HF class its config
    names (``architectures[0]``), built on the meta device, so nothing is allocated.

    Non-embedding leaves out every ``nn.Embedding`` (tokens, learned positions, token types) and
    an untied output embedding (Kaplan et al.'s N). Counting ``bridge.parameters()`` would
    over-count: the bridge adds split q/k/v weights beside GPT-NeoX's fused query_key_value.
    """
    import transformers

    config = transformers.AutoConfig.from_pretrained(str(spec.source), revision=spec.revision)
    names = getattr(config, "architectures", None) or []
    cls = getattr(transformers, names[0], None) if names else None
    with torch.device("meta"):
        model = cls(config) if cls is not None else transformers.AutoModel.from_config(config)
    total = sum(p.numel() for p in model.parameters())  # tied weights counted once
    embedding = {id(p): p.numel() for module in model.modules()
                 if isinstance(module, torch.nn.Embedding) for p in module.parameters()}
    output = model.get_output_embeddings()
    if output is not None:
        embedding[id(output.weight)] = output.weight.numel()
    return total, total - sum(embedding.values())


def count_parameters(spec: ModelSpec) -> int:
    """All parameters of the model as published (see :func:`parameter_counts`)."""
    return parameter_counts(spec)[0]


def load_tokenizer(spec: ModelSpec):
    """The model's own tokenizer, unmodified (the bridge may add a bos/pad token to its copy)."""
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(spec.source), revision=spec.revision)
    except Exception as exc:  # noqa: BLE001 - transformers raises many types here
        raise ModelLoadError(f"model '{spec.name}': no tokenizer with {spec.source}: {exc}") from exc


def prefix_token_id(spec: ModelSpec, tokenizer) -> int | None:
    """The token put before every text (``prepend_bos``): BOS, or [CLS] for encoders that have
    no BOS; None when the model does not prepend one. Extraction, ablation and the case studies
    all read it here, so their windows agree."""
    if not spec.prepend_bos:
        return None
    if tokenizer.bos_token is not None:
        return tokenizer.bos_token_id
    return tokenizer.cls_token_id
