"""Your own data, and the paper's original corpora in their published table formats.

``build_table``: a CSV, Parquet or JSONL file with a text column and binary label columns.
Optional columns give the character span to read (else the whole text: ``mean``/``max`` read
all its tokens, ``last`` its last token) and a document id to group the split by.

``build_class_table``: a text column and a class column, one one-vs-rest feature per class.
This reads the original sources of the sequence-level categories as published: Pile shards
(``*.jsonl.zst``, class ``meta.pile_set_name``: the data-subset task; the EuroParl subset with a
language column: natural language), GitHub code dumps with a ``language`` column (code language).
Dotted column names reach into JSON objects (``meta.pile_set_name``).

Every problem stops with a DatasetError naming the file and the column.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import polars as pl
import zstandard

from sparseprobe.datasets.schema import (
    FeatureDataset,
    document_id,
    with_split,
    write_feature_dataset,
)
from sparseprobe.errors import DatasetError

_TRUE = {"1", "true", "yes", "pos", "positive"}
_FALSE = {"0", "false", "no", "neg", "negative"}


def read_table(path: Path) -> pl.DataFrame:
    """Read a .csv, .parquet or .jsonl/.ndjson file; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    suffixes = [x.lower() for x in path.suffixes]
    source: Path | io.BytesIO = path
    if suffixes and suffixes[-1] in (".zst", ".zstd", ".gz"):
        raw = path.read_bytes()
        try:
            data = (gzip.decompress(raw) if suffixes[-1] == ".gz"
                    else zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read())
        except (OSError, zstandard.ZstdError) as exc:
            raise DatasetError(f"{path}: cannot be decompressed ({exc})") from exc
        source, suffixes = io.BytesIO(data), suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    try:
        if suffix == ".csv":
            frame = pl.read_csv(source, infer_schema_length=10000)
        elif suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(source)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pl.read_ndjson(source, infer_schema_length=None)
        else:
            raise DatasetError(f"{path}: unsupported extension '{suffix}' "
                               "(expected .csv, .parquet or .jsonl, optionally .zst/.gz)")
    except DatasetError:
        raise
    except pl.exceptions.NoDataError as exc:
        raise DatasetError(f"{path}: the file is empty (no header row, no rows)") from exc
    except Exception as exc:  # polars raises several types for malformed files
        raise DatasetError(f"{path}: cannot be read ({exc})") from exc
    if frame.height == 0:
        raise DatasetError(f"{path}: the file has no rows")
    return frame


def binary_labels(values: pl.Series, path: Path, column: str) -> pl.Series:
    """0/1, true/false (bool or text) as a boolean Series; anything else is an error."""
    if values.null_count():
        raise DatasetError(f"{path}: column '{column}' has {values.null_count()} empty values")
    if values.dtype == pl.Boolean:
        return values
    text = values.cast(pl.String).str.strip_chars().str.to_lowercase()
    bad = text.filter(~text.is_in(list(_TRUE | _FALSE))).unique().head(5).to_list()
    if bad:
        raise DatasetError(
            f"{path}: column '{column}' must be binary (0/1 or true/false), found {bad}"
        )
    return text.is_in(list(_TRUE))


def build_table(
    path: Path,
    out_dir: Path,
    *,
    text_column: str,
    label_columns: list[str],
    aggregation: str,
    test_fraction: float,
    seed: int,
    name: str,
    span_start_column: str | None = None,
    span_end_column: str | None = None,
    document_column: str | None = None,
    category: str = "custom",
) -> FeatureDataset:
    """A feature dataset from a user's table: one feature per label column."""
    path = Path(path)
    frame = read_table(path)
    needed = [text_column, *label_columns] + [
        c for c in (span_start_column, span_end_column, document_column) if c
    ]
    for column in needed:
        if column not in frame.columns:
            raise DatasetError(f"{path}: no column '{column}' (columns: {frame.columns})")
    if (span_start_column is None) != (span_end_column is None):
        raise DatasetError(f"{path}: give both span_start_column and span_end_column, or neither")
    texts = frame[text_column].cast(pl.String)
    if texts.null_count() or (texts.str.len_chars() == 0).any():
        raise DatasetError(f"{path}: column '{text_column}' has empty texts")
    examples = pl.DataFrame({"text": texts}).with_columns(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        span_start=(frame[span_start_column].cast(pl.Int64) if span_start_column
                    else pl.lit(0, pl.Int64)),
        span_end=(frame[span_end_column].cast(pl.Int64) if span_end_column
                  else pl.col("text").str.len_chars().cast(pl.Int64)),
        document_id=(frame[document_column].cast(pl.String) if document_column
                     else texts.map_elements(document_id, return_dtype=pl.String)),
    )
    labels = {column: binary_labels(frame[column], path, column) for column in label_columns}
    for column, values in labels.items():
        if values.n_unique() < 2:
            raise DatasetError(f"{path}: label column '{column}' has a single class")
    first = label_columns[0]
    examples = examples.with_columns(
        stratum=pl.Series([f"{first}:{v}" for v in labels[first]]),
    )
    examples = with_split(examples, test_fraction, seed)
    label_frame = pl.concat(
        pl.DataFrame({"feature": column, "example_id": examples["example_id"], "label": values})
        for column, values in labels.items()
    )
    try:
        return write_feature_dataset(
            out_dir, name=name, category=category, aggregation=aggregation, examples=examples,
            labels=label_frame,
            meta={"description": f"User data from {path.name}", "source": str(path),
                  "seed": seed, "test_fraction": test_fraction},
        )
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from exc


def column(frame: pl.DataFrame, path: Path, name: str) -> pl.Series:
    """A column by name; ``a.b`` reaches field ``b`` of a JSON object column ``a``."""
    head, *rest = name.split(".")
    if head not in frame.columns:
        raise DatasetError(f"{path}: no column '{head}' (columns: {frame.columns})")
    series = frame[head]
    for field in rest:
        if not isinstance(series.dtype, pl.Struct) or field not in [
            f.name for f in series.dtype.fields
        ]:
            raise DatasetError(f"{path}: column '{name}': '{series.name}' has no field '{field}'")
        series = series.struct.field(field)
    return series.alias(name)


def build_class_table(
    path: Path,
    out_dir: Path,
    *,
    text_column: str,
    class_column: str,
    aggregation: str,
    test_fraction: float,
    seed: int,
    name: str,
    classes: list[str] | None = None,
    examples_per_class: int | None = None,
    max_chars: int | None = None,
    document_column: str | None = None,
    category: str = "custom",
) -> FeatureDataset:
    """One-vs-rest features over the values of ``class_column`` (optionally only ``classes``),
    at most ``examples_per_class`` texts per class (seeded sample), each cut to ``max_chars``."""
    path = Path(path)
    frame = read_table(path)
    table = pl.DataFrame([
        column(frame, path, text_column).cast(pl.String).alias("text"),
        column(frame, path, class_column).cast(pl.String).alias("class"),
        *([column(frame, path, document_column).cast(pl.String).alias("document")]
          if document_column else []),
    ]).drop_nulls(["text", "class"]).filter(pl.col("text").str.len_chars() > 0)
    present = table["class"].unique().sort().to_list()
    wanted = classes if classes is not None else present
    missing = [c for c in wanted if c not in present]
    if missing:
        raise DatasetError(f"{path}: column '{class_column}' has no rows of class {missing} "
                           f"(present: {present[:20]})")
    if len(wanted) < 2:
        raise DatasetError(f"{path}: column '{class_column}' needs at least two classes")
    parts = []
    for value in wanted:
        rows = table.filter(pl.col("class") == value)
        if examples_per_class is not None and rows.height > examples_per_class:
            rows = rows.sample(examples_per_class, seed=seed, shuffle=True)
        parts.append(rows)
    table = pl.concat(parts)
    if max_chars is not None:
        table = table.with_columns(pl.col("text").str.head(max_chars))
    examples = table.select(
        example_id=pl.int_range(pl.len(), dtype=pl.Int64),
        document_id=(pl.col("document") if document_column
                     else pl.col("text").map_elements(document_id, return_dtype=pl.String)),
        text="text",
        span_start=pl.lit(0, pl.Int64),
        span_end=pl.col("text").str.len_chars().cast(pl.Int64),
        stratum="class",
    )
    examples = with_split(examples, test_fraction, seed)
    labels = pl.concat(
        examples.select(feature=pl.lit(value), example_id="example_id",
                        label=pl.col("stratum") == value)
        for value in wanted
    )
    try:
        return write_feature_dataset(
            out_dir, name=name, category=category, aggregation=aggregation, examples=examples,
            labels=labels,
            meta={"description": f"One-vs-rest over '{class_column}' of {path.name}",
                  "source": str(path), "classes": wanted, "seed": seed,
                  "test_fraction": test_fraction},
        )
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from exc
