"""sparseprobe timings: the per-step job-time table of a run from its benchmark files, and the
progress lines of long jobs (sparseprobe.progress)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sparseprobe.cli import main
from sparseprobe.errors import SummaryError
from sparseprobe.progress import Progress, format_seconds
from sparseprobe.workflow.logs import logged
from sparseprobe.workflow.timings import job_times, run_timings

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(results: Path, job: str, seconds: float, startup: list[float] | None = None) -> None:
    tsv = results / "benchmarks" / f"{job}.tsv"
    tsv.parent.mkdir(parents=True, exist_ok=True)
    tsv.write_text(HEADER + f"{seconds}\t0:00:01\t1\t1\t1\t1\t0\t0\t50\t1\n")
    if startup is not None:
        log = results / "logs" / f"{job}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("".join(f"2026-01-01 00:00:00,000 INFO startup_s {s} (x)\n"
                               for s in startup) + "INFO done\n")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    bench(results, "extract_activations/m1/a", 10.0, [2.0, 6.0])
    bench(results, "extract_activations/m1/b", 30.0, [1.0, 6.0])
    bench(results, "ladder/train_m1", 50.0, [3.0])
    bench(results, "plot_model/m1", 10.0)  # no log: start-up unknown
    return results


def test_table_sums_per_step_with_the_last_startup_mark(run: Path):
    table = run_timings(run)
    assert table["step"].to_list() == ["ladder", "extract_activations", "plot_model", "total"]
    rows = {row["step"]: row for row in table.iter_rows(named=True)}
    extract = rows["extract_activations"]
    assert (extract["jobs"], extract["total_s"], extract["mean_s"]) == (2, 40.0, 20.0)
    assert extract["share"] == pytest.approx(0.4)
    assert (extract["startup_s"], extract["startup_jobs"]) == (12.0, 2)
    assert extract["startup_share"] == pytest.approx(0.3)
    assert rows["plot_model"]["startup_s"] is None and rows["plot_model"]["startup_share"] is None
    total = rows["total"]
    assert (total["jobs"], total["total_s"], total["startup_s"], total["startup_jobs"]) == (
        4, 100.0, 15.0, 3)
    assert total["startup_share"] == pytest.approx(15 / 90)  # over the jobs that logged it


def test_command_prints_the_table_and_names_a_run_without_benchmarks(run, tmp_path, capsys):
    assert main(["timings", str(run)]) == 0
    out = capsys.readouterr().out
    assert "| extract_activations | 2" in out and "startup_share" in out
    assert main(["timings", "--format", "csv", "--results", str(run)]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("step,jobs,total_s")
    assert main(["timings", str(tmp_path / "nothing")]) == 2
    assert "no benchmark files under" in capsys.readouterr().err


def test_a_broken_benchmark_file_is_named(run: Path):
    (run / "benchmarks" / "plot_model" / "m1.tsv").write_text("x\ty\n")
    with pytest.raises(SummaryError, match="m1.tsv: not a Snakemake benchmark"):
        job_times(run)


def test_logged_writes_a_startup_line(tmp_path: Path):
    log_path = tmp_path / "job.log"
    with logged(log_path):
        pass
    assert " startup_s " in log_path.read_text() and "(imports)" in log_path.read_text()


def test_progress_logs_rate_and_eta_at_most_every_interval(caplog):
    now = [0.0]
    progress = Progress(logging.getLogger("sparseprobe.test"), "extract m on d", 100,
                        unit="examples", every_s=10, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="sparseprobe.test"):
        now[0] = 5.0
        assert progress.update(25)  # the first update always logs
        now[0] = 9.0
        assert not progress.update(30)
        now[0] = 20.0
        assert progress.update(50)
        now[0] = 21.0
        assert progress.update(100)  # the end always logs
    assert caplog.messages == [
        "extract m on d: 25/100 examples (25%), 5.0 s elapsed, ETA 15.0 s",
        "extract m on d: 50/100 examples (50%), 20.0 s elapsed, ETA 20.0 s",
        "extract m on d: 100/100 examples (100%), 21.0 s elapsed, done",
    ]
    assert format_seconds(185) == "3 min 05 s" and format_seconds(7380) == "2 h 03 min"
