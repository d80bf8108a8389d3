import _bootstrap  # noqa: F401
from pathlib import Path

import torch

from sparseprobe.activations.extraction import ExtractionSettings, extract_activations
from sparseprobe.config import ModelSpec
from sparseprobe.datasets import load_feature_dataset
from sparseprobe.models.identity import read_fingerprint
from sparseprobe.models.loading import load_model
from sparseprobe.workflow.logs import log_startup, logged

# One model load, then every dataset of the job (params.jobs: one for a per-dataset job).
with logged(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    spec = ModelSpec.from_dict(snakemake.params.model)
    extraction = snakemake.params.extraction
    model = load_model(spec, device=extraction.get("device", "auto"),
                       default_dtype=extraction.get("dtype", "float32"))
    fingerprint = read_fingerprint(Path(snakemake.input.fingerprint))
    log_startup(log, "imports + model loading")
    jobs = snakemake.params.jobs
    for n, job in enumerate(jobs, 1):
        dataset = load_feature_dataset(Path(job["dataset_dir"]))
        settings = ExtractionSettings(
            hook=extraction.get("hook", "mlp.hook_post"), context_tokens=job["context_tokens"],
            batch_size=spec.batch_size, chunk_rows=extraction.get("chunk_rows", 256),
            store_dtype=extraction.get("store_dtype", "float16"), layers=spec.layers,
        )
        info = extract_activations(model, dataset, Path(job["store"]), settings, fingerprint)
        log.info("dataset %d/%d: %s on %s: %d examples, %d tokens, %.1f s on %s (%s)", n,
                 len(jobs), info.model, info.dataset, info.n_examples, info.tokens_processed,
                 info.seconds, info.device_name, info.compute_dtype)
