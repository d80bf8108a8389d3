"""Per-job resources (memory, run time) from a model's shape and a dataset's size.

The workflow's extraction and probe rules declare ``mem_mb`` and ``runtime`` (minutes) from
these functions, so a cluster scheduler can place each job; a local run only uses them to keep
concurrent jobs within ``--resources mem_mb=...``. They are estimates from the data the jobs hold
at their peak (model weights, the hook cache of one batch, one block of aggregated rows; one
layer's activations and each feature's copies of them), with a fixed interpreter overhead, not
measurements: override any of them with ``--set-resources rule:mem_mb=...``. On a retry
(``--retries``) memory and time grow with the attempt number.

Nothing here imports torch; every input is plain config data, so the DAG is planned quickly.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from sparseprobe.config import ConfigError, ModelSpec
from sparseprobe.models.hardware import CPU_TOKENS_PER_BATCH

MB = 2**20
PYTHIA_VOCAB = 50304
"""Pythia's padded vocabulary: the default embedding size when a model's vocabulary is unknown."""

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
PROCESS_MB = {"extract": 1500, "probe": 800}
"""Interpreter + torch/transformers (extraction) or numpy/sklearn/polars (probing) when idle."""

ONE_VS_REST_BUILDERS = frozenset({
    "natural_language", "natural_language_europarl", "data_subset", "code_language_pygments",
    "code_language_github", "class_table", "position", "position_pile",
})
"""Builders whose every feature labels every example (the others label each feature's own)."""

SIZE_KEYS = (("examples_per_language", "languages"), ("examples_per_feature", "features"),
             ("examples_per_subset", "subsets"), ("examples_per_class", "classes"))
UNKNOWN_EXAMPLES = 20_000
"""Assumed examples of a dataset whose size its config does not state (``table``, ``*_pile``
without a cap...) until it is built; afterwards its ``meta.json`` gives the real count."""

FLOPS_PER_SECOND = {"cpu": 2e10, "gpu": 2e13}
"""Sustained forward-pass throughput assumed per extraction job (1 CPU core; 1 GPU)."""
PROBE_SECONDS_PER_UNIT = 2e-9
"""Probe fitting seconds per (feature x example x neuron x method) on one core."""
MIN_RUNTIME_MINUTES = 5


@dataclass(frozen=True)
class JobResources:
    """What one job needs: resident memory (MB) and wall time (minutes)."""

    mem_mb: int
    runtime: int

    def on_attempt(self, attempt: int) -> "JobResources":
        """Scaled for Snakemake's ``attempt`` (1 on the first try)."""
        return JobResources(self.mem_mb * attempt, self.runtime * attempt)


def estimated_parameters(spec: ModelSpec, vocab_size: int = PYTHIA_VOCAB) -> int:
    """Parameters of a GPT-style model from its shape: d_model = d_mlp / 4 (Pythia, the ladder),
    per layer 4 d_model^2 (attention) + 2 d_model d_mlp (MLP), untied input and output embeddings.
    pythia-70m: 70.4M (published 70.4M); pythia-6.9b: 6.86B (6.86B)."""
    if spec.d_mlp is None or spec.n_layers is None:
        raise ConfigError(f"model '{spec.name}': d_mlp and n_layers are unknown (the preflight, "
                          f"sparseprobe.workflow.preflight, fills them in from config.json)")
    d_model = spec.d_mlp // 4
    per_layer = 4 * d_model * d_model + 2 * d_model * spec.d_mlp
    return spec.n_layers * per_layer + 2 * vocab_size * d_model


def planned_examples(dataset: dict, meta_path: str | Path | None = None) -> int:
    """Examples of a dataset: from its ``meta.json`` once built, else the most its config asks
    for (per-feature count x features, or ``examples``), else :data:`UNKNOWN_EXAMPLES`."""
    if meta_path is not None and Path(meta_path).is_file():
        return int(json.loads(Path(meta_path).read_text())["n_examples"])
    for count, names in SIZE_KEYS:
        if count in dataset and names in dataset:
            extra = len(dataset.get("extra_languages", [])) if names == "languages" else 0
            return int(dataset[count]) * (len(dataset[names]) + extra)
    return int(dataset.get("examples", UNKNOWN_EXAMPLES))


def n_features(dataset: dict) -> int:
    """The features a dataset's config names (a position dataset: its bins + the regression)."""
    for key in ("features", "languages", "subsets", "classes", "label_columns"):
        if key in dataset:
            return len(dataset[key]) + len(dataset.get("extra_languages", []))
    if dataset["builder"].startswith("position"):
        return 1 + math.ceil(dataset.get("max_position", 96) / dataset.get("bin_width", 16))
    return 10


def _minutes(seconds: float) -> int:
    return max(MIN_RUNTIME_MINUTES, math.ceil(1.5 * seconds / 60))


def _round_mb(n_bytes: float, base: int) -> int:
    return int(256 * math.ceil((base + n_bytes / MB) / 256))


def extraction_resources(spec: ModelSpec, dataset: dict, n_examples: int, *, on_gpu: bool,
                         chunk_rows: int = 256, vocab_size: int = PYTHIA_VOCAB,
                         default_dtype: str = "float32") -> JobResources:
    """One (model, dataset) extraction job.

    Host memory: the weights (loaded on the host first), one block of ``chunk_rows`` aggregated
    rows per probed layer (float32), the tokenized examples, and on the CPU the hook cache of one
    batch (batch x window x d_mlp per probed layer) and the MLP's own intermediates. On a GPU
    the cache lives in device memory, which is not counted here. Time: 2 x parameters FLOPs per
    token for every token of a full window. ``default_dtype``: ``extraction.dtype``, for a model
    without a dtype of its own; a model without a batch size is counted at the CPU batch rule's
    cap (``sparseprobe.models.hardware.CPU_TOKENS_PER_BATCH`` tokens).
    """
    params = estimated_parameters(spec, vocab_size)
    requested = spec.dtype or default_dtype
    if requested == "auto":
        requested = "bfloat16" if on_gpu else "float32"
    dtype = DTYPE_BYTES[requested]
    layers = len(spec.probed_layers)
    window = int(dataset.get("context_tokens", 128))
    weights = params * dtype
    block = chunk_rows * spec.d_mlp * layers * 4
    tokens = n_examples * window * 64  # Python lists of token ids and offsets
    batch = spec.batch_size or max(1, CPU_TOKENS_PER_BATCH // window)
    cache = batch * window * spec.d_mlp * (layers * dtype + 3 * 4)
    mem = _round_mb(1.2 * weights + block + tokens + (0 if on_gpu else cache),
                    PROCESS_MB["extract"])
    flops = 2 * params * n_examples * window
    seconds = flops / FLOPS_PER_SECOND["gpu" if on_gpu else "cpu"]
    return JobResources(mem, _minutes(seconds + 60))


def probe_resources(spec: ModelSpec, layers: list[int], dataset: dict, n_examples: int,
                    probing: dict, folds: int = 0) -> JobResources:
    """One probe job (``layers`` of one model on one dataset).

    Memory: one layer's activations (float32), every feature's raw and scaled copies of the rows
    it labels (a one-vs-rest dataset: every row per feature), sklearn's float64 copy for the
    dense probe, and for ``random_basis`` one feature's rows in the rotated basis and the DCT's
    working copy (the rotation itself is O(d_mlp): permutations and signs, no d x d matrix).
    Time: a linear model in features x examples x neurons per method and layer, plus the worst
    case of ``optimal`` (its time limit for each k <= optimal_max_k, feature and layer).
    With ``folds`` (``split.validation_folds``) every fit is repeated once per fold, on a
    fold's own copies of the rows.
    """
    d_mlp, features = spec.d_mlp, n_features(dataset)
    rows_per_feature = n_examples if dataset["builder"] in ONE_VS_REST_BUILDERS else math.ceil(
        n_examples / features)
    feature_rows = features * rows_per_feature
    methods = probing.get("methods", ["mean_diff"])
    layer = n_examples * d_mlp * 4
    copies = 2 * feature_rows * d_mlp * 4
    dense = rows_per_feature * d_mlp * 8 * 2 if probing.get("dense", True) else 0
    rotation = 2 * rows_per_feature * d_mlp * 4 if "random_basis" in methods else 0
    mem = _round_mb(layer + copies * (2 if folds else 1) + dense + rotation, PROCESS_MB["probe"])
    work = feature_rows * d_mlp * (len(methods) + 1) * len(layers) * (1 + folds)
    seconds = work * PROBE_SECONDS_PER_UNIT * len(probing.get("k", [1]))
    if "optimal" in methods:
        small_k = [k for k in probing.get("k", []) if k <= probing.get("optimal_max_k", 8)]
        seconds += (len(small_k) * features * len(layers) * (1 + folds)
                    * float(probing.get("optimal_time_limit", 60)))
    return JobResources(mem, _minutes(seconds + 30))
