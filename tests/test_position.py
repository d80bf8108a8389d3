"""The position dataset: pre-token positions as a regression target and as one-vs-rest bins."""

from __future__ import annotations

import polars as pl
import pytest

from sparseprobe.datasets import load_feature_dataset
from sparseprobe.datasets.position import build_position, position_bins, position_dataset
from sparseprobe.datasets.text_features import pre_tokens
from sparseprobe.errors import DatasetError
from sources_fixture import sae_probes_wheel


def _texts(n=300):
    words = "alpha beta, gamma delta 42 epsilon. Zeta eta theta!".split()
    return [" ".join(words[(i + j) % len(words)] for j in range(40 + i % 7)) for i in range(n)]


def test_targets_count_pre_tokens_before_the_read_unit(tmp_path):
    ds = position_dataset(_texts(), tmp_path / "pos", examples=200, max_position=32,
                          bin_width=8, aggregation="last", test_fraction=0.3, seed=1,
                          name="pos", source="fixture")
    assert ds.features == ["position", "position:0-7", "position:8-15", "position:16-23",
                           "position:24-31"]
    assert ds.task("position") == "regression" and ds.task("position:0-7") == "classification"
    targets = ds.feature_table("position").join(ds.examples, on=["example_id", "split"])
    for row in targets.iter_rows(named=True):
        units = pre_tokens(row["text"])
        assert units[-1] == (row["span_start"], row["span_end"])  # the text ends at the unit
        assert row["target"] == len(units) - 1
        assert not row["text"][row["span_start"]:row["span_end"]].isspace()
    assert targets["target"].min() <= 2 and targets["target"].max() >= 29  # spread out
    for lo, hi in position_bins(32, 8):
        table = ds.feature_table(f"position:{lo}-{hi}").join(
            ds.feature_table("position").select("example_id", p=pl.col("target")),
            on="example_id")
        assert table["label"].to_list() == [lo <= p <= hi for p in table["p"]]
    # stored, reloaded and rebuilt identically
    again = position_dataset(_texts(), tmp_path / "again", examples=200, max_position=32,
                             bin_width=8, aggregation="last", test_fraction=0.3, seed=1,
                             name="pos", source="fixture")
    assert again.fingerprint == ds.fingerprint == load_feature_dataset(tmp_path / "pos").fingerprint
    assert (tmp_path / "pos/labels.parquet").read_bytes() == (
        tmp_path / "again/labels.parquet").read_bytes()


def test_position_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(DatasetError, match="two bins"):
        position_bins(10, 8)
    with pytest.raises(DatasetError, match="only 0 texts .* >= 100 pre-tokens"):
        position_dataset(_texts(), tmp_path / "x", examples=10, max_position=100, bin_width=10,
                         aggregation="last", test_fraction=0.3, seed=1, name="pos",
                         source="fixture")


def test_build_position_reads_the_sae_probes_wheel(tmp_path):
    sae_probes_wheel(tmp_path / "sae.pkg")
    ds = build_position(tmp_path / "sae.pkg", tmp_path / "pos", corpora=["161_agnews_0"],
                        examples=50, max_position=24, bin_width=8, test_fraction=0.3, seed=0)
    assert ds.category == "position" and ds.examples.height == 50
    assert ds.labels.filter(pl.col("feature") == "position")["label"].is_null().all()


def test_build_position_pile_reads_pile_shards(tmp_path):
    """The Pile builder reads shards in the Pile's format (zstd JSONL, text + meta), honours
    pile_sets and max_documents, and gives the same dataset as the core on those texts."""
    import json

    import zstandard

    from sparseprobe.datasets.position import build_position_pile

    texts = _texts(120)
    records = [{"text": t, "meta": {"pile_set_name": "Pile-CC" if i % 2 else "Github"}}
               for i, t in enumerate(texts)]
    shard = tmp_path / "00.jsonl.zst"
    shard.write_bytes(zstandard.ZstdCompressor().compress(
        ("\n".join(json.dumps(r) for r in records) + "\n").encode()))
    ds = build_position_pile([shard], tmp_path / "pos", examples=40, max_documents=50,
                             pile_sets=["Pile-CC"], max_position=24, bin_width=8,
                             test_fraction=0.3, seed=0)
    pile_cc = {t for i, t in enumerate(texts) if i % 2}
    assert all(any(t.startswith(x) for t in pile_cc) for x in ds.examples["text"])
    core = position_dataset([t for i, t in enumerate(texts) if i % 2][:50], tmp_path / "core",
                            examples=40, max_position=24, bin_width=8, aggregation="last",
                            test_fraction=0.3, seed=0, name="position", source="x")
    assert ds.examples.equals(core.examples) and ds.labels.equals(core.labels)
