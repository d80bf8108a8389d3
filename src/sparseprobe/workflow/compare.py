"""Do two result trees agree? Tolerance 0, timing columns and run records aside.

Used by the fault-injection tests (an interrupted run, re-run, against an uninterrupted one)
and by ``sparseprobe diff RESULTS_A RESULTS_B`` to check a re-run. What is compared:

- every Parquet table present in either tree, read with polars: the same columns, the same
  dtypes, the same rows in the same order, every value equal (NaN equals NaN, nothing else is
  forgiven), after dropping the columns of :data:`TIMING_COLUMNS`;
- every Zarr array: shape, dtype and every element equal, and the same ``complete`` attribute;
- every other file's presence, with JSON and CSV compared as data (the timing keys left out).

Ignored: PNG figures, logs, benchmarks, Snakemake's ``.snakemake_timestamp`` files, and anything under a ``.partial``, ``.tmp-*`` or
``.snakemake`` directory (what a killed job leaves behind, never read as a result). Agreement here says the numbers are identical; it does not say either run is right,
and a figure that differs only in its pixels goes unnoticed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import zarr

TIMING_COLUMNS = frozenset({
    "seconds", "fit_seconds", "wall_seconds", "tokens_per_second", "achieved_tflops",
    "peak_fraction", "peak_tflops", "device", "device_name", "timestamp", "created",
    "elapsed_seconds", "runtime_seconds",
})
"""Columns and JSON keys that record how a run went (time, hardware), not what it found."""

IGNORED_SUFFIXES = (".png", ".log", ".tsv", ".html", ".pdf", ".svg")
IGNORED_DIRS = frozenset({"logs", "benchmarks", ".snakemake"})


@dataclass(frozen=True)
class Difference:
    """One disagreement: the path relative to both roots and what differs."""

    path: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what}"


def _ignored(relative: Path) -> bool:
    parts = relative.parts
    return (relative.name.endswith(IGNORED_SUFFIXES) or relative.name == ".snakemake_timestamp"
            or any(p in IGNORED_DIRS or p.endswith(".partial") or ".tmp-" in p for p in parts))


def _entries(root: Path) -> dict[str, Path]:
    """Comparable entries of a tree: files, and Zarr arrays as one entry (their directory)."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if _ignored(relative) or any(p.endswith(".zarr") for p in relative.parts[:-1]):
            continue
        if path.is_dir() and path.suffix == ".zarr":
            out[str(relative)] = path
        elif path.is_file():
            out[str(relative)] = path
    return out


def _drop_timing(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop([c for c in frame.columns if c in TIMING_COLUMNS])


def compare_frames(a: pl.DataFrame, b: pl.DataFrame) -> str | None:
    """What differs between two tables (timing columns dropped), or None when identical."""
    a, b = _drop_timing(a), _drop_timing(b)
    if a.columns != b.columns:
        return f"columns differ: {a.columns} vs {b.columns}"
    if a.schema != b.schema:
        changed = [c for c in a.columns if a.schema[c] != b.schema[c]]
        return f"dtypes differ in {changed}"
    if a.height != b.height:
        return f"{a.height} rows vs {b.height}"
    for column in a.columns:
        left, right = a[column], b[column]
        same = left.eq_missing(right)
        if left.dtype.is_float():
            same = same | (left.is_nan() & right.is_nan()).fill_null(False)
        if not same.all():
            row = int(same.arg_min())
            return (f"column '{column}' differs in {int((~same).sum())} rows, first at row "
                    f"{row}: {left[row]!r} vs {right[row]!r}")
    return None


def _compare_zarr(a: Path, b: Path) -> str | None:
    x, y = zarr.open_array(str(a), mode="r"), zarr.open_array(str(b), mode="r")
    if x.shape != y.shape or x.dtype != y.dtype:
        return f"shape/dtype {x.shape} {x.dtype} vs {y.shape} {y.dtype}"
    if x.attrs.get("complete") != y.attrs.get("complete"):
        return f"'complete' attribute {x.attrs.get('complete')} vs {y.attrs.get('complete')}"
    left, right = np.asarray(x[:]), np.asarray(y[:])
    if not np.array_equal(left, right, equal_nan=left.dtype.kind == "f"):
        return f"{int((left != right).sum())} elements differ"
    return None


def _strip(data: object) -> object:
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in TIMING_COLUMNS}
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data


def _compare_file(a: Path, b: Path) -> str | None:
    if a.suffix == ".parquet":
        return compare_frames(pl.read_parquet(a), pl.read_parquet(b))
    if a.suffix == ".zarr":
        return _compare_zarr(a, b)
    if a.suffix == ".json":
        left, right = _strip(json.loads(a.read_text())), _strip(json.loads(b.read_text()))
        return None if left == right else "JSON content differs"
    if a.suffix == ".csv":
        return compare_frames(pl.read_csv(a), pl.read_csv(b))
    return None if a.read_bytes() == b.read_bytes() else "bytes differ"


def differences(a: Path | str, b: Path | str) -> Iterator[Difference]:
    """Every disagreement between result trees ``a`` and ``b`` (see the module docstring)."""
    a, b = Path(a), Path(b)
    for root in (a, b):
        if not root.is_dir():
            yield Difference(str(root), "not a directory")
            return
    left, right = _entries(a), _entries(b)
    for name in sorted(left.keys() | right.keys()):
        if name not in right:
            yield Difference(name, f"only in {a}")
        elif name not in left:
            yield Difference(name, f"only in {b}")
        else:
            what = _compare_file(left[name], right[name])
            if what is not None:
                yield Difference(name, what)


def trees_agree(a: Path | str, b: Path | str) -> list[Difference]:
    """All differences between two result trees; an empty list means they agree."""
    return list(differences(a, b))
