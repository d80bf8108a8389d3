"""The on-disk schema of a feature dataset, its split and its validation.

A feature dataset is a directory with three files (see docs/schemas.md):

``examples.parquet``  one row per example
    example_id (int64, 0..n-1 in row order), document_id (str: the unit the split keeps on
    one side), text (str), span_start / span_end (int64: the character span [start, end) whose
    tokens are read), stratum (str: what the split stratifies on), split ("train" | "test").
``labels.parquet``    one row per (feature, example) that the feature labels
    feature (str), example_id (int64), label (bool: True = positive; null for a regression
    feature), target (float64: the value a regression feature predicts, e.g. a token's position;
    null for a binary feature). A feature is binary or a regression target, never both.
``meta.json``         name, category, aggregation, description, sources, seed, fingerprint.

Tokenization and span-to-token alignment happen per model (``sparseprobe.activations.extraction``), so the
same dataset serves every tokenizer. The split is fixed here, once, and reused by every model,
layer, method and k.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from sparseprobe.errors import DatasetError

AGGREGATIONS = ("mean", "max", "last")

EXAMPLE_SCHEMA = {
    "example_id": pl.Int64,
    "document_id": pl.String,
    "text": pl.String,
    "span_start": pl.Int64,
    "span_end": pl.Int64,
    "stratum": pl.String,
    "split": pl.String,
}
LABEL_SCHEMA = {
    "feature": pl.String, "example_id": pl.Int64, "label": pl.Boolean, "target": pl.Float64,
}
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class FeatureDataset:
    """A loaded feature dataset. ``examples`` and ``labels`` follow the module schema."""

    name: str
    category: str
    aggregation: str
    examples: pl.DataFrame
    labels: pl.DataFrame
    fingerprint: str
    meta: dict = field(default_factory=dict)

    def category_of(self, feature: str) -> str:
        """The feature's category: the dataset's, unless ``meta.feature_categories`` (a dataset
        that carries several categories over the same examples) says otherwise."""
        return feature_category({**self.meta, "category": self.category}, feature)

    @property
    def features(self) -> list[str]:
        """Feature names in first-appearance order."""
        return self.labels["feature"].unique(maintain_order=True).to_list()

    def task(self, feature: str) -> str:
        """``classification`` (a binary label) or ``regression`` (a real-valued target)."""
        rows = self.labels.filter(pl.col("feature") == feature)
        if rows.height == 0:
            raise DatasetError(f"dataset '{self.name}': no feature named '{feature}'")
        return "regression" if rows["label"].is_null().all() else "classification"

    def feature_table(self, feature: str) -> pl.DataFrame:
        """example_id, label, target, split of the examples ``feature`` labels, by example_id."""
        rows = self.labels.filter(pl.col("feature") == feature)
        if rows.height == 0:
            raise DatasetError(f"dataset '{self.name}': no feature named '{feature}'")
        return (
            rows.join(self.examples.select("example_id", "split"), on="example_id", how="left")
            .select("example_id", "label", "target", "split")
            .sort("example_id")
        )


def feature_category(meta: dict, feature: str) -> str:
    """A feature's category from a dataset's ``meta.json`` alone (what
    :meth:`FeatureDataset.category_of` answers, without loading the tables)."""
    return meta.get("feature_categories", {}).get(feature, meta["category"])


def document_id(text: str) -> str:
    """A content hash: identical texts share a document id, so a split keeps them together."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def assign_split(
    strata: list[str], groups: list[str], test_fraction: float, seed: int
) -> list[str]:
    """Return "train"/"test" per example: stratified on ``strata``, seeded, 70/30 by default.

    When every example is its own group, a StratifiedShuffleSplit gives exactly
    ``test_fraction``. When groups repeat (several examples from one document), a
    StratifiedGroupKFold with round(1/test_fraction) folds keeps each group on one side and its
    first fold is the test set (so the test fraction is about 1/n_splits, not exact).
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit

    n = len(strata)
    if n == 0:
        raise DatasetError("cannot split an empty dataset")
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"split.test_fraction must be in (0, 1), got {test_fraction}")
    y = np.asarray(strata)
    split = np.array(["train"] * n, dtype=object)
    if len(set(groups)) == n:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
        _, test_idx = next(splitter.split(np.zeros(n), y))
    else:
        n_splits = max(2, round(1.0 / test_fraction))
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        _, test_idx = next(splitter.split(np.zeros(n), y, groups=np.asarray(groups)))
    split[test_idx] = "test"
    return split.tolist()


def with_split(frame: pl.DataFrame, test_fraction: float, seed: int) -> pl.DataFrame:
    """``frame`` (with ``stratum`` and ``document_id``) plus its ``split`` column."""
    split = assign_split(frame["stratum"].to_list(), frame["document_id"].to_list(),
                         test_fraction, seed)
    return frame.with_columns(split=pl.Series(split))


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from any parts (a seed, feature names, layers), independent of
    PYTHONHASHSEED and of the order in which other seeds are drawn."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def feature_seed(seed: int, feature: str) -> int:
    """A per-feature sampling seed (independent of PYTHONHASHSEED and of the feature order)."""
    return stable_seed(seed, feature)


def check_feature_request(name: str, features, known, source: str, examples_per_feature: int,
                          positive_fraction: float) -> None:
    """The checks every token-level builder makes of its config entry, each naming the dataset
    and what was expected: features given, none twice, all known to ``source``, a positive
    fraction in (0, 1), at least 2 examples per feature."""
    if not features:
        raise DatasetError(f"dataset '{name}': no features requested")
    duplicates = sorted({f for f in features if list(features).count(f) > 1})
    if duplicates:
        raise DatasetError(f"dataset '{name}': features listed twice: {duplicates}")
    unknown = [f for f in features if f not in known]
    if unknown:
        raise DatasetError(
            f"dataset '{name}': unknown feature(s) {unknown} for {source}; known: {list(known)}"
        )
    if not 0.0 < positive_fraction < 1.0:
        raise DatasetError(
            f"dataset '{name}': positive_fraction must be in (0, 1), got {positive_fraction}"
        )
    if examples_per_feature < 2:
        raise DatasetError(
            f"dataset '{name}': examples_per_feature must be >= 2, got {examples_per_feature}"
        )


def unit_examples(rows: list[tuple], test_fraction: float, seed: int) -> pl.DataFrame:
    """Rows of (feature, label, document_id, text, span_start, span_end), one per labelled unit
    (a word, a token-sized piece of text), as an examples frame with example_id, a
    ``feature:pos``/``feature:neg`` stratum and the split (grouped by document_id). The frame
    keeps ``feature`` and ``label``: ``frame.select("feature", "example_id", "label")`` is the
    labels table."""
    frame = pl.DataFrame(
        rows, orient="row",
        schema={"feature": pl.String, "label": pl.Boolean, "document_id": pl.String,
                "text": pl.String, "span_start": pl.Int64, "span_end": pl.Int64},
    ).with_columns(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        stratum=pl.col("feature") + pl.when(pl.col("label")).then(pl.lit(":pos"))
        .otherwise(pl.lit(":neg")),
    )
    return with_split(frame, test_fraction, seed)


def write_unit_dataset(rows: list[tuple], out_dir: Path, *, name: str, category: str,
                       aggregation: str, test_fraction: float, seed: int, meta: dict,
                       sampling: dict | None = None) -> FeatureDataset:
    """Write unit rows (see :func:`unit_examples`) as a dataset whose labels are the rows'
    labels; meta.json holds ``meta``, then ``seed`` and ``test_fraction``, then ``sampling``
    (the builder's sampling arguments and counts), in that order."""
    frame = unit_examples(rows, test_fraction, seed)
    return write_feature_dataset(
        out_dir, name=name, category=category, aggregation=aggregation, examples=frame,
        labels=frame.select("feature", "example_id", "label"),
        meta={**meta, "seed": seed, "test_fraction": test_fraction, **(sampling or {})},
    )


def _frame_digest(frame: pl.DataFrame) -> str:
    """Content digest of a frame, independent of Parquet writer details."""
    digest = hashlib.sha256()
    digest.update(json.dumps({k: str(v) for k, v in frame.schema.items()}).encode())
    for col in frame.columns:
        digest.update(col.encode())
        digest.update(frame[col].cast(pl.String).str.join("\x1f").item().encode())
    return digest.hexdigest()


def fingerprint(examples: pl.DataFrame, labels: pl.DataFrame, aggregation: str) -> str:
    """A short content hash of a dataset: activation stores record it to detect stale caches."""
    digest = hashlib.sha256()
    for part in (_frame_digest(examples), _frame_digest(labels), aggregation):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def validate_tables(name: str, examples: pl.DataFrame, labels: pl.DataFrame) -> None:
    """Check both tables against the schema; raise DatasetError naming the table and column."""
    for table, frame, schema in (
        ("examples", examples, EXAMPLE_SCHEMA),
        ("labels", labels, LABEL_SCHEMA),
    ):
        for col, dtype in schema.items():
            if col not in frame.columns:
                raise DatasetError(f"dataset '{name}': {table} table has no column '{col}'")
            if frame.schema[col] != dtype:
                raise DatasetError(
                    f"dataset '{name}': {table}.{col} has type {frame.schema[col]}, expected {dtype}"
                )
        if frame.height == 0:
            raise DatasetError(f"dataset '{name}': {table} table is empty")
    ids = examples["example_id"]
    if not ids.equals(pl.Series("example_id", np.arange(examples.height, dtype=np.int64))):
        raise DatasetError(f"dataset '{name}': examples.example_id must be 0..n-1 in row order")
    bad_split = examples.filter(~pl.col("split").is_in(["train", "test"]))
    if bad_split.height:
        raise DatasetError(f"dataset '{name}': examples.split must be 'train' or 'test'")
    bad_span = examples.filter(
        (pl.col("span_start") < 0)
        | (pl.col("span_end") <= pl.col("span_start"))
        | (pl.col("span_end") > pl.col("text").str.len_chars())
    )
    if bad_span.height:
        first = bad_span.row(0, named=True)
        raise DatasetError(
            f"dataset '{name}': example {first['example_id']} has span "
            f"[{first['span_start']}, {first['span_end']}) outside its text"
        )
    unknown = labels.join(examples, on="example_id", how="anti")
    if unknown.height:
        raise DatasetError(f"dataset '{name}': labels refer to unknown example ids")
    mixed = labels.group_by("feature").agg(
        binary=pl.col("label").is_not_null().all() & pl.col("target").is_null().all(),
        regression=pl.col("label").is_null().all() & pl.col("target").is_not_null().all(),
    ).filter(~pl.col("binary") & ~pl.col("regression"))
    if mixed.height:
        raise DatasetError(
            f"dataset '{name}': feature '{mixed['feature'][0]}' must have a label on every row "
            "(binary) or a target on every row (regression), not a mix or neither"
        )
    per_split = labels.join(examples.select("example_id", "split"), on="example_id").group_by(
        "feature", "split"
    ).agg(
        classes=pl.col("label").n_unique(),
        values=pl.col("target").n_unique(),
        regression=pl.col("label").is_null().all(),
    )
    single = per_split.filter(
        pl.when(pl.col("regression")).then(pl.col("values")).otherwise(pl.col("classes")) < 2
    )
    if single.height:
        row = single.row(0, named=True)
        raise DatasetError(
            f"dataset '{name}': feature '{row['feature']}' has a single class in its "
            f"{row['split']} split; a probe needs positives and negatives (or, for a regression "
            "target, two distinct values) on both sides"
        )


def write_feature_dataset(
    out_dir: Path,
    *,
    name: str,
    category: str,
    aggregation: str,
    examples: pl.DataFrame,
    labels: pl.DataFrame,
    meta: dict,
) -> FeatureDataset:
    """Validate and write a dataset directory; returns it as loaded."""
    if aggregation not in AGGREGATIONS:
        raise DatasetError(f"dataset '{name}': aggregation '{aggregation}' not in {AGGREGATIONS}")
    if "target" not in labels.columns:
        labels = labels.with_columns(target=pl.lit(None, pl.Float64))
    for table, frame, schema in (("examples", examples, EXAMPLE_SCHEMA),
                                 ("labels", labels, LABEL_SCHEMA)):
        missing = [col for col in schema if col not in frame.columns]
        if missing:
            raise DatasetError(f"dataset '{name}': {table} table has no column '{missing[0]}'")
    examples = examples.select(list(EXAMPLE_SCHEMA)).cast(EXAMPLE_SCHEMA)
    labels = labels.select(list(LABEL_SCHEMA)).cast(LABEL_SCHEMA)
    validate_tables(name, examples, labels)
    fp = fingerprint(examples, labels, aggregation)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    examples.write_parquet(out_dir / "examples.parquet")
    labels.write_parquet(out_dir / "labels.parquet")
    full_meta = {
        **meta,
        "name": name,
        "category": category,
        "aggregation": aggregation,
        "n_examples": examples.height,
        "features": labels["feature"].unique(maintain_order=True).to_list(),
        "fingerprint": fp,
    }
    (out_dir / "meta.json").write_text(json.dumps(full_meta, indent=2, sort_keys=True) + "\n")
    return FeatureDataset(name, category, aggregation, examples, labels, fp, full_meta)


def load_feature_dataset(directory: Path) -> FeatureDataset:
    """Read and validate a dataset directory written by :func:`write_feature_dataset`."""
    directory = Path(directory)
    for file in ("examples.parquet", "labels.parquet", "meta.json"):
        if not (directory / file).is_file():
            raise DatasetError(f"{directory / file}: missing (not a feature dataset directory?)")
    meta = json.loads((directory / "meta.json").read_text())
    for key in ("name", "category", "aggregation", "fingerprint"):
        if key not in meta:
            raise DatasetError(f"{directory / 'meta.json'}: missing key '{key}'")
    examples = pl.read_parquet(directory / "examples.parquet")
    labels = pl.read_parquet(directory / "labels.parquet")
    if "target" not in labels.columns:  # written before regression targets existed
        labels = labels.with_columns(target=pl.lit(None, pl.Float64))
    validate_tables(meta["name"], examples, labels)
    return FeatureDataset(
        meta["name"], meta["category"], meta["aggregation"], examples, labels,
        meta["fingerprint"], meta,
    )
