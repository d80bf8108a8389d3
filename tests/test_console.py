"""The run's console (sparseprobe.workflow.console): one line per job and a closing summary."""

from __future__ import annotations

from pathlib import Path

from sparseprobe.workflow.console import STAGES, closing_summary, job_message

ROOT = Path(__file__).resolve().parent.parent


def test_job_line_names_stage_then_model_dataset_and_layers():
    line = job_message("probe_layers", ["layers", "dataset", "model"])
    assert line.split()[:2] == ["probe", "layers"]
    assert line.endswith("{wildcards.model} / {wildcards.dataset} / layers {wildcards.layers}")
    assert job_message("all", []) == "all targets"
    assert job_message("new_rule", ["family"]).startswith("new rule")


def test_every_rule_has_a_stage_name():
    rules = {line.split()[1].rstrip(":") for path in [ROOT / "Snakefile",
                                                       *(ROOT / "rules").glob("*.smk")]
             for line in path.read_text().splitlines() if line.startswith("rule ")}
    assert rules <= set(STAGES), rules - set(STAGES)


def test_closing_summary_says_where_and_what_next():
    text = closing_summary("ladder-7", ["ladder"], ["natural_language", "latex"])
    assert "results/" in text and "snakemake --report report.html" in text
    assert "results/plots/families/ladder/summary.png" in text
    assert "results/plots/models/ladder-7/heatmap__natural_language.png" in text
    assert "sparseprobe neurons --model ladder-7" in text


def test_profile_and_makefile_keep_the_console_short():
    profile = (ROOT / "profiles/default/config.yaml").read_text()
    assert "printshellcmds" not in profile  # every rule is a script: "Shell command: None"
    assert "quiet: [reason]" in profile
    run = next(line for line in (ROOT / "Makefile").read_text().splitlines()
               if "snakemake --cores" in line)
    assert "$(if $(CONFIG)," in run  # the default config is not passed a second time
