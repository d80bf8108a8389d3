import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.datasets import load_feature_dataset
from sparseprobe.models.identity import read_fingerprint
from sparseprobe.probing.sweep import ProbeSettings, probe_layers
from sparseprobe.probing.results import write_results
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    probing = dict(snakemake.params.probing)
    probing.pop("neurons_per_job", None)  # how jobs are partitioned, not how probes are fit
    settings = ProbeSettings(
        k_grid=tuple(probing.pop("k", ProbeSettings.k_grid)),
        methods=tuple(probing.pop("methods", ProbeSettings.methods)),
        seed=snakemake.params.seed, **probing,
    )
    dataset = load_feature_dataset(Path(snakemake.input.dataset[0]).parent)
    fingerprint = read_fingerprint(Path(snakemake.input.fingerprint))
    frame = probe_layers(dataset, Path(snakemake.input.activations), snakemake.params.layers,
                         settings, model_fingerprint=fingerprint.digest,
                         validation_fraction=snakemake.params.validation_fraction)
    write_results(frame, Path(snakemake.output[0]))
    unconverged = frame.filter(~frame["converged"])
    log.info("layers %s: %d probes written; %d did not converge", snakemake.params.layers,
             frame.height, unconverged.height)
    for row in unconverged.head(50).iter_rows(named=True):
        log.warning("not converged: layer %d, feature %s, method %s, k %d (n_iter %d)",
                    row["layer"], row["feature"], row["method"], row["k"], row["n_iter"])
