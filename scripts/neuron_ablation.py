import _bootstrap  # noqa: F401
from pathlib import Path

import torch

from sparseprobe.report.ablation import AblationSettings, write_ablation
from sparseprobe.config import ModelSpec
from sparseprobe.models.loading import load_model
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    block = snakemake.params.settings
    settings = AblationSettings(
        sequences_per_class=block.get("sequences_per_class", 16),
        tokens=block.get("tokens", 128), method=block.get("method", "zero"),
        batch_size=block.get("batch_size", 16), seed=snakemake.params.seed,
    )
    model = load_model(ModelSpec.from_dict(snakemake.params.model), device=snakemake.params.device)
    out = snakemake.output
    rows = write_ablation(
        model, Path(snakemake.input.neurons),
        {Path(p).parent.name: Path(p).parent for p in snakemake.input.datasets},
        snakemake.params.features, settings, Path(out.rows), Path(out.summary),
        Path(out.summary_html), Path(out.plot),
    )
    log.info("%d ablated sequences", rows.height)
