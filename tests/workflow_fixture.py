"""The tiny workflow the end-to-end tests share: its config, its working copy and how to run
Snakemake on it. conftest.py builds and runs it once per test session (fixtures ``workdir``
and ``completed``), for tests/test_report.py and tests/test_workflow.py alike."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from sources_fixture import django_wheel, sae_probes_wheel

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def tiny_config(sources: dict) -> dict:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["sources"] = sources
    config["datasets"] = {
        "languages": {"builder": "natural_language", "languages": ["en", "fr", "de"],
                      "examples_per_language": 16, "chars_per_example": 80,
                      "aggregation": "mean", "context_tokens": 32},
        "compounds": {"builder": "compound_words", "features": ["high-school", "credit-card"],
                      "examples_per_feature": 60, "aggregation": "last", "context_tokens": 16},
    }
    config["ladder"].update(
        vocab_size=300,
        corpus={"background_sae_probes": ["161_agnews_0"], "background_languages": ["ca"],
                "background_chars": 20000},
        training={"context_length": 32, "tokens": 3000, "batch_size": 4, "learning_rate": 0.003,
                  "warmup_fraction": 0.1, "weight_decay": 0.01, "seed": 0},
        rungs={"tiny-1": {"d_model": 16, "n_layers": 1, "n_heads": 2},
               "tiny-2": {"d_model": 16, "n_layers": 2, "n_heads": 2}},
    )
    config["models"] = ["tiny-1", "tiny-2"]
    config["probing"]["k"] = [1, 2, 4, 16]
    config["neurons"] = {"case_studies": 2, "contexts": 5}
    config["ablation"] = {"features": {"languages": ["fr"]}, "sequences_per_class": 3,
                          "tokens": 24}
    return config


WORKFLOW_FILES = ("Snakefile", "rules", "scripts", "src", "config", "envs", "report")


def make_workdir(work: Path, config_of=None, extra: tuple[str, ...] = ()) -> Path:
    """A copy of the workflow (and the ``extra`` repository folders, e.g. profiles) in ``work``
    whose config/config.yaml is ``config_of(sources)`` (default :func:`tiny_config`), the
    sources being two built wheels."""
    for item in (*WORKFLOW_FILES, *extra):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    wheels = work / "resources" / "sources"
    wheels.mkdir(parents=True)
    sources = {
        "django": {"package": "django", "version": "0", "sha256":
                   django_wheel(wheels / "django.pkg")},
        "sae_probes": {"package": "sae-probes", "version": "0", "sha256":
                       sae_probes_wheel(wheels / "sae_probes.pkg")},
    }
    config = (config_of or tiny_config)(sources)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return work


def snakemake(work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc
