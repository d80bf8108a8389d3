"""Fault injection on the tiny workflow (docs/reliability.md): kill -9 mid-stage, then re-run;
non-finite activations; two runs on one directory. One completed run is the reference; every
interrupted run must end with results identical to it (sparseprobe.workflow.compare)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import zarr

from workflow_fixture import make_workdir, tiny_config
from sparseprobe.workflow.compare import trees_agree

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--cores", "2"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
       "TOKENIZERS_PARALLELISM": "false"}
STORE = "results/activations/tiny-2/compounds"
PROBE_LOG = "results/logs/probe_layers/tiny-2/layers_0-1.log"  # a small model: one probe job

pytestmark = pytest.mark.workflow


def small_config(sources: dict) -> dict:
    """The tiny workflow cut to one model and one dataset, without neuron studies."""
    config = tiny_config(sources)
    config["datasets"] = {"compounds": config["datasets"]["compounds"]}
    config["ladder"]["rungs"] = {"tiny-2": config["ladder"]["rungs"]["tiny-2"]}
    config["models"] = ["tiny-2"]
    config["neurons"] = {"case_studies": 0}
    config["ablation"] = {}
    return config


def run(work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=work, env=ENV, capture_output=True,
                          text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stderr[-4000:]}")
    return proc


def start(work: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*SNAKEMAKE, *args], cwd=work, env=ENV, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_when(work: Path, marker: Callable[[Path], bool], *args: str,
              timeout: float = 300) -> None:
    """Start snakemake, SIGKILL its whole process group as soon as ``marker(work)`` holds."""
    proc = start(work, *args)
    deadline = time.monotonic() + timeout
    while not marker(work):
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before the marker: {proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("the marker did not appear in time")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


DOWNSTREAM = ("summaries", "plots", "neurons")


def clear(work: Path, *stages: str) -> None:
    """Remove results of ``stages`` and everything read from them, as if the run had never
    got there (a killed first run; with --forcerun instead, Snakemake would see the later
    results up to date and a plain re-run would not rebuild the deleted outputs)."""
    for stage in (*stages, *DOWNSTREAM):
        shutil.rmtree(work / "results" / stage, ignore_errors=True)


def rerun(work: Path) -> None:
    """The re-run after a kill: a plain run refuses the stale lock naming --unlock (the killed
    process could not remove it); after --unlock a plain run finishes the work."""
    proc = run(work, check=False)
    if proc.returncode != 0:
        assert "--unlock" in proc.stderr, proc.stderr[-3000:]
        run(work, "--unlock")
        run(work)


def assert_same_as(reference: Path, work: Path) -> None:
    assert not list((work / "results").rglob("*.partial")), "a partial store was left behind"
    differences = trees_agree(reference, work / "results")
    assert differences == [], "\n".join(map(str, differences))


@pytest.fixture(scope="module")
def faults(tmp_path_factory) -> tuple[Path, Path]:
    """A completed small run (the working directory) and a copy of its results (reference)."""
    work = make_workdir(tmp_path_factory.mktemp("faults"), small_config, extra=("profiles",))
    run(work)
    reference = tmp_path_factory.mktemp("reference") / "results"
    shutil.copytree(work / "results", reference)
    return work, reference


def test_kill_during_ladder_training_then_rerun(faults):
    work, reference = faults
    clear(work, "ladder/models/tiny-2", "activations", "probes")
    kill_when(work, lambda w: any((w / "results/ladder/models").glob(".tiny-2.tmp-*")))
    assert not (work / "results/ladder/models/tiny-2").exists()
    rerun(work)
    assert_same_as(reference, work)


def test_kill_mid_zarr_write_then_rerun(faults):
    work, reference = faults
    clear(work, "activations", "probes")
    kill_when(work, lambda w: (w / f"{STORE}.partial/layer_0.zarr").exists())
    assert not (work / STORE).exists()  # the partial store is never the store
    rerun(work)
    assert_same_as(reference, work)


def test_kill_during_probe_job_then_rerun(faults):
    work, reference = faults
    clear(work, "probes")
    (work / PROBE_LOG).unlink(missing_ok=True)
    kill_when(work, lambda w: (w / PROBE_LOG).exists())
    rerun(work)
    assert_same_as(reference, work)


def test_second_run_on_the_same_directory_is_refused(faults):
    work, reference = faults
    first = start(work, "--forcerun", "probe_layers")
    deadline = time.monotonic() + 120
    while not list((work / ".snakemake/locks").glob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = run(work, "--forcerun", "model_summary", check=False)
    assert first.wait(timeout=300) == 0, first.stderr.read()[-3000:]
    assert second.returncode != 0 and "cannot be locked" in second.stderr
    assert_same_as(reference, work)


def test_non_finite_activations_stop_the_probe_naming_the_array(faults):
    work, reference = faults
    array = zarr.open_array(str(work / STORE / "layer_1.zarr"), mode="r+")
    saved = np.asarray(array[3])
    array[3, 5] = np.nan
    try:
        proc = run(work, "--forcerun", "probe_layers", check=False)
        assert proc.returncode != 0
        log = (work / PROBE_LOG).read_text()
        assert "layer_1.zarr: 1 NaN and 0 infinite" in log and "row 3, column 5" in log
    finally:
        array[3] = saved
    run(work, "--forcerun", "probe_layers")
    assert_same_as(reference, work)
