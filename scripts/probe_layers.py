import _bootstrap  # noqa: F401
from pathlib import Path

import polars as pl

from sparseprobe.datasets import load_feature_dataset
from sparseprobe.models.identity import read_fingerprint
from sparseprobe.progress import Progress
from sparseprobe.probing.sweep import ProbeSettings, probe_layers
from sparseprobe.probing.results import write_results
from sparseprobe.workflow.logs import log_startup, logged

# One layer group on every dataset of the job (params.jobs: one for a per-dataset job).
with logged(snakemake.log[0]) as log:
    probing = dict(snakemake.params.probing)
    probing.pop("neurons_per_job", None)  # how jobs are partitioned, not how probes are fit
    settings = ProbeSettings(
        k_grid=tuple(probing.pop("k", ProbeSettings.k_grid)),
        methods=tuple(probing.pop("methods", ProbeSettings.methods)),
        seed=snakemake.params.seed, **probing,
    )
    fingerprint = read_fingerprint(Path(snakemake.input.fingerprint))
    log_startup(log, "imports + settings")
    jobs, layers = snakemake.params.jobs, snakemake.params.layers
    # one layer at a time (the same probes and splits as all at once): progress and ETA per layer
    progress = Progress(log, f"probe {fingerprint.model} layers {layers[0]}-{layers[-1]}",
                        len(jobs) * len(layers), unit="(dataset, layer) sweeps", every_s=0)
    for n, job in enumerate(jobs, 1):
        dataset = load_feature_dataset(Path(job["dataset_dir"]))
        frames = []
        for layer in layers:
            frames.append(probe_layers(
                dataset, Path(job["store"]), [layer], settings,
                model_fingerprint=fingerprint.digest,
                validation_fraction=snakemake.params.validation_fraction,
                validation_folds=snakemake.params.validation_folds))
            progress.update((n - 1) * len(layers) + len(frames))
        frame = pl.concat(frames)
        write_results(frame, Path(job["table"]))
        unconverged = frame.filter(~frame["converged"])
        log.info("dataset %d/%d: %s, layers %s: %d probes written; %d did not converge", n,
                 len(jobs), job["dataset"], snakemake.params.layers, frame.height,
                 unconverged.height)
        for row in unconverged.head(50).iter_rows(named=True):
            log.warning("not converged: %s layer %d, feature %s, method %s, k %d (n_iter %d)",
                        job["dataset"], row["layer"], row["feature"], row["method"], row["k"],
                        row["n_iter"])
