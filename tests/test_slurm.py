"""SLURM: the tiny end-to-end workflow submitted through profiles/slurm to a real one-node
cluster (slurmctld + slurmd + munge from Debian's packages, tests/slurm/local_cluster.sh).

What this establishes: every job of the workflow ran as a SLURM batch job with the partition,
GPU, memory, CPU and time requests that profiles/slurm sets; the probe jobs went in one grouped
submission; the outputs are complete and follow the documented schema. What it does not: the
cluster is one virtual node on one machine (no shared file system, no real GPU, no accounting
database, so the status is polled with squeue), and nothing is timed.

Runs only as root on a Debian-like machine (it installs slurm-wlm and munge with apt and
starts daemons); elsewhere it is skipped with the reason. SPARSEPROBE_SLURM_TEST=0 skips it.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import yaml

from workflow_fixture import make_workdir, tiny_config

from sparseprobe.probing.results import check_schema

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = ROOT / "tests" / "slurm" / "local_cluster.sh"
PROFILE = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
SKIP = 77  # local_cluster.sh: this machine cannot host the test cluster
LOCK = Path("/var/tmp/sparseprobe-slurm.lock")
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")

pytestmark = [pytest.mark.workflow, pytest.mark.slurm]


def why_no_cluster() -> str | None:
    """The reason this machine cannot run the test, or None."""
    if os.environ.get("SPARSEPROBE_SLURM_TEST") == "0":
        return "SPARSEPROBE_SLURM_TEST=0"
    if sys.platform != "linux" or not Path("/etc/debian_version").exists():
        return "the SLURM test cluster needs a Debian-like Linux (apt: slurm-wlm, munge)"
    if os.geteuid() != 0:
        return "the SLURM test cluster needs root (it installs packages and starts daemons)"
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        return "neither apt-get nor an installed slurmctld"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')"
    return None


def cluster(action: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CLUSTER_SCRIPT), action], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running cluster for this module: started here (and stopped again, also on failure)
    unless one started by local_cluster.sh already answers, which is then left running."""
    reason = why_no_cluster()
    if reason:
        pytest.skip(reason)
    with LOCK.open("w") as lock:  # one test session at a time drives the machine's cluster
        deadline = time.monotonic() + 900
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip(f"another test session holds {LOCK} for over 15 minutes")
                time.sleep(2)
        already_up = cluster("status", timeout=60).returncode == 0
        try:
            if not already_up:
                started = time.monotonic()
                proc = cluster("up")
                if proc.returncode == SKIP:
                    pytest.skip(f"cannot start a SLURM cluster here: {proc.stderr.strip()[-500:]}")
                assert proc.returncode == 0, f"local_cluster.sh up failed:\n{proc.stderr[-4000:]}"
                print(f"SLURM cluster up in {time.monotonic() - started:.0f} s")
            yield
        finally:
            if not already_up:
                down = cluster("down", timeout=120)
                assert down.returncode == 0, down.stderr


def slurm_config(sources: dict) -> dict:
    """The tiny config of tests/workflow_fixture.py without neuron case studies and ablation:
    they add jobs but nothing about scheduling (the SLURM plugin polls every ~10-20 s per step
    of the DAG), so they are left out to keep the test short."""
    config = tiny_config(sources)
    config["neurons"] = {"case_studies": 0}
    config["ablation"] = {"features": {}}
    return config


def scontrol_job(jobid: str) -> dict[str, str]:
    """`scontrol show job` as key -> value (finished jobs stay visible for MinJobAge)."""
    out = subprocess.run(["scontrol", "-o", "show", "job", jobid], capture_output=True,
                         text=True, check=True).stdout
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


def mem_mb(value: str) -> int:
    units = {"M": 1, "G": 1024, "T": 1024 * 1024}
    return int(float(value[:-1]) * units[value[-1]])


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory) -> tuple[Path, str]:
    """The tiny workflow through `--workflow-profile profiles/slurm`; only the polling knobs of a
    test cluster are given on the command line (squeue: there is no accounting database)."""
    work = make_workdir(tmp_path_factory.mktemp("slurm_workflow"), slurm_config,
                        extra=("profiles",))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "SLURM_CONF": "/var/tmp/sparseprobe-slurm/etc/slurm.conf"}
    cmd = ["timeout", "-k", "30", "900", sys.executable, "-m", "snakemake",
           "--workflow-profile", "profiles/slurm",
           "--slurm-status-command", "squeue",
           "--slurm-init-seconds-before-status-checks", "2",
           "--latency-wait", "5", "--retries", "0"]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    print(f"tiny workflow through SLURM: {time.monotonic() - started:.0f} s")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"snakemake through SLURM failed (rc {proc.returncode}):\n{log[-8000:]}"
    return work, log


def test_every_job_ran_through_sbatch(slurm_run):
    work, log = slurm_run
    submissions = SUBMITTED.findall(log)
    by_kind: dict[str, list[str]] = {}
    for _, jobid, slurm_log in submissions:
        kind = Path(slurm_log).relative_to(work / ".snakemake" / "slurm_logs").parts[0]
        by_kind.setdefault(kind, []).append(jobid)
        state = scontrol_job(jobid)
        assert state["JobState"] == "COMPLETED", (jobid, state)
        assert Path(slurm_log).is_file(), slurm_log
    assert {kind: len(ids) for kind, ids in by_kind.items()} == {
        "rule_build_dataset": 2, "rule_ladder_corpus": 1, "rule_ladder_tokenizer": 1,
        "rule_ladder_train": 2, "rule_extract_activations": 2, "rule_model_summary": 2,
        "rule_neuron_tables": 2, "rule_plot_model": 2, "rule_scaling_summary": 1,
        "rule_family_tables": 1, "rule_plot_family": 1, "rule_results_page": 2,
        "group_probes_probe_layers": 1,  # the 2 probe jobs (a small model's: both datasets) in one
    }
    # the group's two jobs, each finished once
    assert len(re.findall(r"^Finished jobid: \d+ \(Rule: probe_layers\)", log, re.M)) == 2


def test_profile_requests_reach_slurm(slurm_run):
    work, log = slurm_run
    jobs = {}
    for _, jobid, slurm_log in SUBMITTED.findall(log):
        kind = Path(slurm_log).relative_to(work / ".snakemake" / "slurm_logs").parts[0]
        jobs.setdefault(kind, []).append(scontrol_job(jobid))
    extract = PROFILE["set-resources"]["extract_activations"]
    for job in jobs["rule_extract_activations"]:
        assert job["Partition"] == extract["slurm_partition"]
        assert job["TresPerJob"] == f"gres:gpu:{extract['gpu']}"
        assert job["CPUs/Task"] == str(extract["cpus_per_task"])
        assert mem_mb(job["MinMemoryNode"]) == min(extract["mem_mb"], PROFILE["resources"]["mem_mb"])
        assert job["TimeLimit"] == f"{extract['runtime'] // 60:02d}:{extract['runtime'] % 60:02d}:00"
    # SLURM scheduled the GPU requests: the node has 2 GPUs, so at most 2 of the extraction
    # jobs overlapped in time
    spans = [(job["StartTime"], job["EndTime"]) for job in jobs["rule_extract_activations"]]
    for start, _ in spans:
        assert sum(s <= start < e for s, e in spans) <= 2, spans
    default_partition = PROFILE["default-resources"]["slurm_partition"]
    for job in jobs["rule_build_dataset"]:
        assert job["Partition"] == default_partition
        assert mem_mb(job["MinMemoryNode"]) == PROFILE["set-resources"]["build_dataset"]["mem_mb"]
    # the probe group: as many probe jobs side by side as the profile's `resources: mem_mb`
    # allows, the rest after them (runtime adds up)
    (group,) = jobs["group_probes_probe_layers"]
    probe_mem = PROFILE["set-resources"]["probe_layers"]["mem_mb"]
    side_by_side = min(2, PROFILE["resources"]["mem_mb"] // probe_mem)
    assert group["Partition"] == default_partition
    assert mem_mb(group["MinMemoryNode"]) == side_by_side * probe_mem
    assert group["NumCPUs"] == str(side_by_side)


def test_outputs_complete_and_in_schema(slurm_run):
    work, _ = slurm_run
    for model, layers in (("tiny-1", 1), ("tiny-2", 2)):
        for dataset in ("languages", "compounds"):
            store = work / "results" / "activations" / model / dataset
            assert sorted(p.name for p in store.glob("layer_*.zarr")) == [
                f"layer_{i}.zarr" for i in range(layers)]
    for path in sorted((work / "results" / "probes").rglob("*.parquet")):
        check_schema(pl.read_parquet(path), str(path))
    probes = pl.read_parquet(work / "results/summaries/models/tiny-2/probes.parquet")
    assert set(probes["layer"]) == {0, 1}
    assert set(probes["feature"]) == {"en", "fr", "de", "high-school", "credit-card"}
    assert probes["f1"].is_between(0, 1).all()
    assert pl.read_parquet(work / "results/summaries/scaling/ladder.parquet").height == 2 * 5
    for dataset in ("languages", "compounds"):
        for figure in ("models/tiny-2/sparsity", "families/ladder/features"):
            assert (work / f"results/plots/{figure}__{dataset}.png").stat().st_size > 10_000
    assert (work / "results/summaries/models/tiny-1/neurons.csv").stat().st_size > 0
