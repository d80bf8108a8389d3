import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.models.ladder.corpus import build_corpus
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    corpus = snakemake.params.corpus
    frame = build_corpus(
        [Path(d) for d in snakemake.params.dataset_dirs], Path(snakemake.output[0]),
        sae_probes_wheel=Path(snakemake.input.sae_probes), django_wheel=Path(snakemake.input.django),
        background_sae_probes=corpus.get("background_sae_probes", []),
        background_languages=corpus.get("background_languages", []),
        background_chars=corpus.get("background_chars", 1_000_000),
        seed=snakemake.params.seed,
    )
    log.info("corpus: %d documents, %d characters", frame.height, frame["text"].str.len_chars().sum())
