"""sparseprobe.workflow.compare and ``sparseprobe diff``: two result trees at tolerance 0."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import zarr

from sparseprobe.cli import main
from sparseprobe.workflow.compare import trees_agree


def make_tree(root: Path, f1: float = 0.5, seconds: float = 1.0) -> Path:
    (root / "probes").mkdir(parents=True)
    pl.DataFrame({"feature": ["a", "b"], "f1": [f1, float("nan")],
                  "fit_seconds": [seconds, seconds]}).write_parquet(root / "probes/t.parquet")
    array = zarr.create_array(str(root / "acts/layer_0.zarr"), shape=(3, 2), dtype="float32")
    array[:] = np.arange(6, dtype=np.float32).reshape(3, 2)
    array.attrs["complete"] = True
    (root / "acts/model.json").write_text(json.dumps({"model": "m", "seconds": seconds}))
    (root / "plot.png").write_bytes(b"png" * int(seconds))
    (root / "logs").mkdir()
    (root / "logs/x.log").write_text(str(seconds))
    return root


def test_trees_agree_apart_from_timing_figures_and_logs(tmp_path: Path):
    a = make_tree(tmp_path / "a")
    b = make_tree(tmp_path / "b", seconds=7.0)
    assert trees_agree(a, b) == []
    assert main(["diff", str(a), str(b)]) == 0


def test_a_changed_value_a_missing_file_and_a_changed_array_are_named(tmp_path: Path, capsys):
    a = make_tree(tmp_path / "a")
    b = make_tree(tmp_path / "b", f1=0.5 + 1e-12)
    (b / "acts/model.json").unlink()
    zarr.open_array(str(b / "acts/layer_0.zarr"), mode="r+")[0, 0] = 1.0
    found = {d.path: d.what for d in trees_agree(a, b)}
    assert set(found) == {"probes/t.parquet", "acts/model.json", "acts/layer_0.zarr"}
    assert "column 'f1'" in found["probes/t.parquet"]
    assert "only in" in found["acts/model.json"]
    assert "1 elements differ" in found["acts/layer_0.zarr"]
    assert main(["diff", str(a), str(b)]) == 1
    assert "probes/t.parquet" in capsys.readouterr().out


def test_partial_directories_are_not_compared(tmp_path: Path):
    a = make_tree(tmp_path / "a")
    b = make_tree(tmp_path / "b")
    shutil.copytree(b / "acts", b / "other.partial")
    assert trees_agree(a, b) == []
