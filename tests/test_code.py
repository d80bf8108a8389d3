"""Code language: windows of real source files from the Pygments sdist layout and from GitHub
code dumps; the mapping, windows, spans, balance, grouped split, determinism and errors."""

import io
import tarfile
from pathlib import Path

import polars as pl
import pytest
import zstandard

from sparseprobe.datasets import load_feature_dataset
from sparseprobe.datasets.code import (
    PAPER_CODE_LANGUAGES,
    PYGMENTS_LANGUAGES,
    CodeFile,
    Windowing,
    build_code_language,
    build_code_language_github,
    canonical_language,
    cut_windows,
    decode_source,
    extension_language,
    file_windows,
    select_pygments_files,
)
from sparseprobe.errors import DatasetError, SourceError

FIXTURE = Path(__file__).parent / "fixtures" / "code" / "pygments-0.0.0"
NINE = list(PAPER_CODE_LANGUAGES)
SMALL = {"examples_per_language": 50, "chars_per_example": 120, "skip_chars": 20,
         "max_windows_per_file": 3, "min_examples_per_language": 3, "aggregation": "mean",
         "test_fraction": 0.3, "seed": 7}


def _tar(root: Path, out: Path, prefix: str = "pygments-0.0.0", skip=()) -> Path:
    """A gzipped tarball of ``root`` in the sdist layout (one top folder ``prefix``)."""
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and not any(rel.startswith(s) for s in skip):
                tar.add(path, arcname=f"{prefix}/{rel}", recursive=False)
    return out


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    return _tar(FIXTURE, tmp_path_factory.mktemp("sdist") / "pygments-0.0.0.tar.gz")


@pytest.fixture(scope="module")
def nine(sdist, tmp_path_factory):
    return build_code_language(sdist, tmp_path_factory.mktemp("nine") / "ds", languages=NINE,
                               name="code", **SMALL)


# ---------------------------------------------------------------- mapping


def test_mapping_separates_c_cpp_js_ts_xml_html_and_drops_templates():
    paths = [
        "tests/examplefiles/c/a.c", "tests/examplefiles/c/a.c.output",
        "tests/examplefiles/c/b.h", "tests/examplefiles/cpp/a.cpp", "tests/examplefiles/cpp/a.hpp",
        "tests/examplefiles/cuda/k.cu", "tests/examplefiles/arduino/Blink.ino",
        "tests/examplefiles/js/a.js", "tests/examplefiles/jsx/a.jsx", "tests/examplefiles/ts/a.ts",
        "tests/examplefiles/javascript+mozpreproc/demo.js.in",
        "tests/examplefiles/xml/a.xml", "tests/examplefiles/xslt/a.xsl",
        "tests/examplefiles/dtd/a.dtd", "tests/examplefiles/html/a.html",
        "tests/examplefiles/html/example.xhtml", "tests/examplefiles/html+php/a.phtml",
        "tests/examplefiles/python/a.py", "tests/examplefiles/pycon/a.pycon",
        "tests/examplefiles/conftest.py", "pygments/lexer.py", "pygments/lexers/python.py",
        "pygments/lexers/_php_builtins.py", "pygments/unistring.py", "tests/test_basic.py",
        "doc/_static/demo.js", "doc/_templates/demo.html",
    ]
    got = {lang: select_pygments_files(PYGMENTS_LANGUAGES[lang], paths)
           for lang in [*NINE, "TypeScript"]}
    assert got["C"] == ["tests/examplefiles/c/a.c", "tests/examplefiles/c/b.h"]
    assert got["C++"] == ["tests/examplefiles/cpp/a.cpp", "tests/examplefiles/cpp/a.hpp"]
    assert got["JavaScript"] == ["doc/_static/demo.js", "tests/examplefiles/js/a.js"]
    assert got["TypeScript"] == ["tests/examplefiles/ts/a.ts"]
    assert got["XML"] == ["tests/examplefiles/xml/a.xml", "tests/examplefiles/xslt/a.xsl"]
    assert got["HTML"] == ["tests/examplefiles/html/a.html"]
    assert got["Python"] == ["pygments/lexer.py", "pygments/lexers/python.py",
                             "tests/examplefiles/python/a.py"]
    assert got["Go"] == got["PHP"] == got["Java"] == []


def test_language_names_and_extensions_of_code_dumps():
    assert [canonical_language(x) for x in ["GO", "c++", "JavaScript", "xml", "Nim"]] == [
        "Go", "C++", "JavaScript", "XML", "Nim"]
    assert [extension_language(p) for p in ["a/b.H", "x.cc", "y.XSL", "z.phtml", "Makefile"]] == [
        "C", "C++", "XML", None, None]


# ---------------------------------------------------------------- windows and spans


def test_windows_cover_the_file_end_at_line_ends_and_are_capped():
    text = "".join(f"line {i} of the file {'x' * (i % 7)}\n" for i in range(60))
    windows = cut_windows(text, 100)
    assert "".join(windows) == text
    assert all(len(w) <= 100 for w in windows)
    assert all(w.endswith("\n") for w in windows)
    assert cut_windows("y" * 250, 100) == ["y" * 100, "y" * 100, "y" * 50]
    setting = Windowing.checked("t", 100, 20, 3, None)
    picked = file_windows(CodeFile("C", "a.c", text), setting, seed=1)
    assert len(picked) == 3 and picked == file_windows(CodeFile("C", "a.c", text), setting, 1)
    assert [windows.index(w) for w in picked] == sorted(windows.index(w) for w in picked)
    # the tail window (and a tiny file) is dropped when its span is under a quarter window
    assert file_windows(CodeFile("C", "t.c", "x" * 30), setting, 1) == []
    assert decode_source(b"\xef\xbb\xbfa\r\nb\rc") == "a\nb\nc"
    assert decode_source(b"\xff\xfe\x00") is None


def test_spans_skip_the_first_chars_and_read_to_the_end(nine):
    ex = nine.examples
    assert (ex["span_start"] == SMALL["skip_chars"]).all()
    assert (ex["span_end"] == ex["text"].str.len_chars()).all()
    assert (ex["text"].str.len_chars() <= SMALL["chars_per_example"]).all()
    assert all(t[SMALL["skip_chars"]:].strip() for t in ex["text"])


def test_files_are_read_by_the_mapping(nine):
    texts = "\n".join(nine.examples["text"])
    assert "<?r" not in texts  # the excluded template
    assert "__global__" not in texts and "KEYWORDS" not in texts and "SAMPLE" not in texts
    assert "Token.Keyword" not in texts  # golden .output dumps
    html = nine.examples.filter(pl.col("stratum") == "HTML")["text"]
    assert html.str.contains("<").all()
    assert nine.meta["mapping"]["XML"]["folders"] == ["xml", "xslt"]
    assert nine.meta["undecodable_files"] == []


# ---------------------------------------------------------------- labels, balance, split


def test_one_vs_rest_balanced_per_language(nine):
    ex, labels = nine.examples, nine.labels
    assert nine.features == NINE
    counts = ex.group_by("stratum").len()
    assert counts["len"].n_unique() == 1
    n = counts["len"][0]
    assert n == nine.meta["examples_per_language"] >= SMALL["min_examples_per_language"]
    assert labels.height == len(NINE) * ex.height
    positives = labels.group_by("feature").agg(pl.col("label").sum())
    assert (positives["label"] == n).all()  # 1/9 positive each
    joined = labels.join(ex, on="example_id")
    assert (joined["label"] == (joined["feature"] == joined["stratum"])).all()
    per = nine.meta["per_language"]
    assert set(per) == set(NINE)
    assert all(v["examples"] == n and v["files"] >= 2 and v["windows"] >= n
               for v in per.values())


def test_split_is_grouped_by_file_with_each_language_on_both_sides(nine):
    ex = nine.examples
    sides = ex.group_by("document_id").agg(pl.col("split").n_unique())
    assert (sides["split"] == 1).all()
    both = ex.group_by("stratum").agg(pl.col("split").n_unique())
    assert (both["split"] == 2).all()
    assert 0.15 < (ex["split"] == "test").mean() < 0.5
    # a big file does not dominate: round-robin over files
    python = ex.filter(pl.col("stratum") == "Python")
    assert python["document_id"].n_unique() == 3


def test_build_is_deterministic_and_seeded(sdist, tmp_path):
    a = build_code_language(sdist, tmp_path / "a", languages=NINE, name="code", **SMALL)
    b = build_code_language(sdist, tmp_path / "b", languages=NINE, name="code", **SMALL)
    for file in ("examples.parquet", "labels.parquet", "meta.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    assert load_feature_dataset(tmp_path / "a").fingerprint == a.fingerprint == b.fingerprint
    c = build_code_language(sdist, tmp_path / "c", languages=NINE, name="code",
                            **{**SMALL, "seed": 8})
    assert c.fingerprint != a.fingerprint


def test_extra_languages_named_and_by_folder(sdist, tmp_path):
    ds = build_code_language(sdist, tmp_path / "x", languages=["C", "Go"],
                             extra_languages=["Rust", "nim"], name="code", **SMALL)
    assert ds.features == ["C", "Go", "Rust", "nim"]
    assert ds.meta["mapping"]["nim"]["folders"] == ["nim"]
    rust = ds.examples.filter(pl.col("stratum") == "Rust")["text"]
    assert rust.str.contains("fn |impl|let |use ").all()


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"languages": ["C", "Cobol2000"]}, "unknown code language 'Cobol2000'"),
        ({"languages": ["C"]}, "at least two languages"),
        ({"languages": ["C", "Go"], "extra_languages": ["Go"]}, "listed twice"),
        ({"languages": ["C", "Go"], "skip_chars": 200}, "must exceed skip_chars"),
        ({"languages": ["C", "Go"], "max_windows_per_file": 0}, "max_windows_per_file"),
        ({"languages": ["C", "Go"], "min_examples_per_language": 40},
         "language 'C' (6 windows from 2 files), 'Go' (6 windows from 2 files)"),
        ({"languages": ["C", "TypeScript"]}, "'TypeScript' (0 windows from 0 files)"),
    ],
)
def test_errors_name_the_problem(sdist, tmp_path, kwargs, message):
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_code_language(sdist, tmp_path / "e", name="code", **{**SMALL, **kwargs})


def test_a_language_with_one_file_cannot_be_split(tmp_path):
    one_go = _tar(FIXTURE, tmp_path / "p.tar.gz", skip=("tests/examplefiles/go/stack.go",))
    with pytest.raises(DatasetError, match=r"'Go' \(3 windows from 1 files\)"):
        build_code_language(one_go, tmp_path / "e", languages=["C", "Go"], name="code", **SMALL)


def test_duplicate_files_count_once_and_examples_are_capped(tmp_path):
    root = tmp_path / "copy"
    for path in FIXTURE.rglob("*"):
        if path.is_file():
            target = root / path.relative_to(FIXTURE)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    queue = root / "tests/examplefiles/c/queue.c"
    (root / "tests/examplefiles/c/queue_copy.c").write_bytes(queue.read_bytes())
    ds = build_code_language(_tar(root, tmp_path / "dup.tar.gz"), tmp_path / "d",
                             languages=["C", "Java"], name="code",
                             **{**SMALL, "examples_per_language": 4})
    assert ds.meta["per_language"]["C"]["files"] == 2
    assert ds.examples.group_by("stratum").len()["len"].to_list() == [4, 4]
    assert ds.meta["examples_per_language"] == 4


def test_bad_sources(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(SourceError, match="junk.tar.gz"):
        build_code_language(junk, tmp_path / "e", languages=NINE, name="code", **SMALL)
    other = _tar(FIXTURE / "pygments", tmp_path / "other.tar.gz")
    with pytest.raises(DatasetError, match="no tests/examplefiles"):
        build_code_language(other, tmp_path / "e", languages=NINE, name="code", **SMALL)


# ---------------------------------------------------------------- GitHub code dumps


def _github_rows() -> list[dict]:
    """Rows in the codeparrot github-code layout, from the fixture files."""
    rows = []
    for path in sorted((FIXTURE / "tests" / "examplefiles").rglob("*")):
        folder = path.parent.name
        language = {"c": "C", "cpp": "C++", "go": "GO", "java": "Java", "python": "Python",
                    "js": "JavaScript"}.get(folder)
        if path.is_file() and language:
            rows.append({"code": path.read_text(), "repo_name": f"someone/{folder}",
                         "path": f"src/{path.name}", "language": language, "license": "mit",
                         "size": path.stat().st_size})
    return rows


def test_github_dump_jsonl_zst_and_parquet(tmp_path):
    rows = _github_rows()
    half = len(rows) // 2
    first = tmp_path / "part-0.jsonl.zst"
    buffer = io.BytesIO()
    pl.DataFrame(rows[:half]).write_ndjson(buffer)
    first.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    second = tmp_path / "part-1.parquet"
    pl.DataFrame(rows[half:]).write_parquet(second)
    args = dict(SMALL, languages=["C", "C++", "Go", "Python"], name="gh")
    ds = build_code_language_github([first, second], tmp_path / "gh", **args)
    assert ds.features == ["C", "C++", "Go", "Python"]
    ex = ds.examples
    assert ex.group_by("stratum").len()["len"].n_unique() == 1
    assert (ex.group_by("document_id").agg(pl.col("split").n_unique())["split"] == 1).all()
    assert (ex["span_start"] == SMALL["skip_chars"]).all()
    again = build_code_language_github([first, second], tmp_path / "gh2", **args)
    assert ((tmp_path / "gh" / "examples.parquet").read_bytes()
            == (tmp_path / "gh2" / "examples.parquet").read_bytes())
    assert again.fingerprint == ds.fingerprint


def test_github_dump_language_from_path_extension(tmp_path):
    rows = [{"content": r["code"], "path": r["path"]} for r in _github_rows()]
    dump = tmp_path / "clean.jsonl"
    pl.DataFrame(rows).write_ndjson(dump)
    ds = build_code_language_github([dump], tmp_path / "out", **dict(
        SMALL, languages=["C", "C++", "Go", "Java"], name="gh"))
    assert ds.meta["per_language"]["C++"]["files"] == 2  # .cpp and .hpp
    with pytest.raises(DatasetError, match=r"no files of language \['PHP'\]"):
        build_code_language_github([dump], tmp_path / "e", **dict(
            SMALL, languages=["C", "PHP"], name="gh"))
    pl.DataFrame({"content": ["int x;"]}).write_ndjson(tmp_path / "bare.jsonl")
    with pytest.raises(DatasetError, match="needs a language column or a path column"):
        build_code_language_github([tmp_path / "bare.jsonl"], tmp_path / "e", **dict(
            SMALL, languages=["C", "Go"], name="gh"))
    pl.DataFrame({"source": ["int x;"], "language": ["C"]}).write_ndjson(tmp_path / "nc.jsonl")
    with pytest.raises(DatasetError, match="no code column"):
        build_code_language_github([tmp_path / "nc.jsonl"], tmp_path / "e", **dict(
            SMALL, languages=["C", "Go"], name="gh"))
