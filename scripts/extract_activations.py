import _bootstrap  # noqa: F401
from pathlib import Path

import torch

from sparseprobe.activations.extraction import ExtractionSettings, extract_activations
from sparseprobe.config import ModelSpec
from sparseprobe.datasets import load_feature_dataset
from sparseprobe.models.identity import read_fingerprint
from sparseprobe.models.loading import load_model
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    spec = ModelSpec.from_dict(snakemake.params.model)
    extraction = snakemake.params.extraction
    dataset = load_feature_dataset(Path(snakemake.input.dataset[0]).parent)
    model = load_model(spec, device=extraction.get("device", "auto"),
                       default_dtype=extraction.get("dtype", "float32"))
    settings = ExtractionSettings(
        hook=extraction.get("hook", "mlp.hook_post"), context_tokens=snakemake.params.context_tokens,
        batch_size=spec.batch_size, chunk_rows=extraction.get("chunk_rows", 256),
        store_dtype=extraction.get("store_dtype", "float16"), layers=spec.layers,
    )
    fingerprint = read_fingerprint(Path(snakemake.input.fingerprint))
    info = extract_activations(model, dataset, Path(snakemake.output[0]), settings, fingerprint)
    log.info("%s on %s: %d examples, %d tokens, %.1f s on %s (%s)", info.model, info.dataset,
             info.n_examples, info.tokens_processed, info.seconds, info.device_name,
             info.compute_dtype)
