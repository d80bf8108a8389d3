# What the rules ask of the config is answered by one WorkflowPlan (src/sparseprobe/workflow/
# plan.py, unit-tested in tests/test_plan.py); this file only binds it to names the rules use.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from sparseprobe.config import (
    checkpoint_table,
    dataset_source,
    ladder_model_dir,
    ladder_training_job,
    source_path,
)
from sparseprobe.workflow.plan import (
    FAMILY_FIGURES,
    MODEL_FIGURES,
    TRAINING_FIGURE,
    WorkflowPlan,
    dataset_files,
    family_figure_path,
    model_figure_path,
)
from sparseprobe.models.identity import fingerprint_inputs
from sparseprobe.workflow.preflight import dry_run_requested, preflight_models

PLAN = WorkflowPlan.from_config(
    config,
    preflight=lambda models: preflight_models(
        models, plan_only=workflow.dryrun or dry_run_requested(sys.argv)
    ),
)
MODELS = PLAN.models
FAMILIES = PLAN.families
TRAINING = PLAN.training
DATASETS = PLAN.datasets
LADDER = PLAN.ladder
SUMMARIES = PLAN.summaries
PACKAGE_MODELS = PLAN.package_models


wildcard_constraints:
    **PLAN.wildcard_constraints(),


# Snakemake's report() flags a figure for the HTML report (rules/report.smk).
def model_figure(figure, dataset):
    return report(
        model_figure_path("{model}", figure, dataset),
        caption=MODEL_FIGURES[figure].caption,
        category=dataset,
        subcategory="per model",
        labels={"model": "{model}", "figure": MODEL_FIGURES[figure].title},
    )


def family_figure(figure, dataset):
    return report(
        family_figure_path("{family}", figure, dataset),
        caption=FAMILY_FIGURES[figure].caption,
        category=dataset,
        subcategory="across model sizes",
        labels={"family": "{family}", "figure": FAMILY_FIGURES[figure].title},
    )


def training_figure(dataset):
    return report(
        family_figure_path("{family}", "training", dataset),
        caption=TRAINING_FIGURE.caption,
        category=dataset,
        subcategory="across training",
        labels={"family": "{family}", "figure": TRAINING_FIGURE.title},
    )
