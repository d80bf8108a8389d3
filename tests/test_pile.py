"""Pile builders (text features, compound words, Wikidata facts) on fixture shards in the exact
Pile format, written with zstandard at test time (tests/fixtures/pile holds the readable parts)."""

from __future__ import annotations

import json
import random
import re
from itertools import product
from pathlib import Path

import polars as pl
import pytest
import zstandard

from sources_fixture import sae_probes_wheel
from sparseprobe.datasets import load_feature_dataset
from sparseprobe.datasets.pile import (
    AFTER_FIRST,
    BIGRAM,
    SECOND_ALONE,
    Bigram,
    BigramScanner,
    BottomK,
    bigram_occurrences,
    build_compound_words_pile,
    build_text_features_pile,
    build_wikidata_pile,
    context_window,
    find_names,
    iter_pile,
    sample_key,
    surname_span,
)
from sparseprobe.datasets.sae_probes import COMPOUND_WORDS as PAPER_BIGRAMS
from sparseprobe.datasets.text_features import PREDICATES, build_text_features
from sparseprobe.errors import DatasetError

FIXTURES = Path(__file__).parent / "fixtures" / "pile"
FIRST = ["Alice", "Boris", "Chen", "Dmitri", "Elena", "Farah", "Goran", "Hana", "Ivan", "Julia"]
LAST = ["Abbott", "Brennan", "Castillo", "Dorsey", "Eriksen", "Fontaine", "Gallo", "Hughes"]
FILLER = ("we went there after the game and talked about the long day with 12 friends from "
          "NASA in the USA at a café, naïve as ever").split()
SETS = ["Pile-CC", "EuroParl", "Github"]


def bulk_people() -> list[dict]:
    people = []
    for i, (first, last) in enumerate(product(FIRST, LAST)):
        job = ["athlete", "actor", "politician"][i % 3]
        people.append({
            "name": f"{first} {last}", "sex_or_gender": ["female", "male"][i % 2],
            "is_alive": i % 4 != 0, "occupation": job,
            "political_party": ["Democratic Party", "Republican Party"][(i // 3) % 2]
            if job == "politician" else None,
            "athlete_sport": ["football", "basketball"][(i // 3) % 2] if job == "athlete" else None,
        })
    return people


def bulk_documents(n: int) -> list[dict]:
    """Generated Pile documents: filler, people's names, and compound-word candidates."""
    rng = random.Random(7)
    names = [p["name"] for p in bulk_people()]
    templates = ["my high school was {w}", "the school of {w}", "a high {w} score",
                 "Social Security pays {w}", "the security of {w}", "social {w} club"]
    docs = []
    for i in range(n):
        parts = []
        for _ in range(rng.randint(3, 6)):
            filler = " ".join(rng.choices(FILLER, k=rng.randint(4, 9)))
            kind = rng.random()
            if kind < 0.4:
                parts.append(f"{filler} {rng.choice(templates).format(w=rng.choice(FILLER))}.")
            elif kind < 0.8:
                parts.append(f"{filler} with {names[(i * 5 + len(parts)) % len(names)]}.")
            else:
                parts.append(f"{filler.capitalize()}.\n")
        docs.append({"text": " ".join(parts), "meta": {"pile_set_name": SETS[i % 3]}})
    return docs


def write_shard(path: Path, records: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_bytes(zstandard.ZstdCompressor().compress(("\n".join(lines) + "\n").encode()))
    return path


def hand_documents() -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / "documents.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def pile(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("pile")
    bulk = bulk_documents(150)
    shards = [write_shard(root / "00.jsonl.zst", hand_documents() + bulk[:70]),
              write_shard(root / "01.jsonl.zst", bulk[70:])]
    facts = pl.concat([pl.read_csv(FIXTURES / "facts.csv"),
                       pl.DataFrame(bulk_people()).cast(pl.String)], how="vertical_relaxed")
    facts.write_csv(root / "facts.csv")
    return {"root": root, "shards": shards, "facts": root / "facts.csv"}


def same_bytes(a: Path, b: Path) -> bool:
    return all((a / f).read_bytes() == (b / f).read_bytes()
               for f in ("examples.parquet", "labels.parquet"))


def one_side_per(ds, key: str = "document_id") -> bool:
    return (ds.examples.group_by(key).agg(pl.col("split").n_unique())["split"] == 1).all()


# ---------------------------------------------------------------------------------------------
# Reading shards


def test_reader_filters_by_pile_set_and_stops_once_enough_documents_are_read(tmp_path):
    good = write_shard(tmp_path / "a.jsonl.zst", hand_documents() + ["{not json"])
    broken = tmp_path / "b.jsonl.zst"
    broken.write_bytes(b"not zstd at all")
    stats: dict = {}
    docs = list(iter_pile([good, broken], max_documents=5, stats=stats))
    assert len(docs) == 5 and stats["shards_read"] == ["a.jsonl.zst"]  # no further line read
    assert docs[0].where == f"{good}:1" and docs[3].pile_set == "EuroParl"
    europarl = list(iter_pile([good], max_documents=1, pile_sets=["EuroParl"]))
    assert [d.pile_set for d in europarl] == ["EuroParl"]
    with pytest.raises(DatasetError, match=r"a\.jsonl\.zst:6: not a JSON object"):
        list(iter_pile([good, broken], max_documents=6))
    with pytest.raises(DatasetError, match=r"b\.jsonl\.zst: cannot be decompressed"):
        list(iter_pile([broken], max_documents=6))


def test_reader_errors_name_the_shard_and_line(tmp_path):
    no_text = write_shard(tmp_path / "t.jsonl.zst", [{"text": "ok"}, {"content": "x", "meta": {}}])
    with pytest.raises(DatasetError, match=r"t\.jsonl\.zst:2: no 'text' key"):
        list(iter_pile([no_text], max_documents=None))
    empty = tmp_path / "e.jsonl.zst"
    empty.write_bytes(zstandard.ZstdCompressor().compress(b""))
    with pytest.raises(DatasetError, match=r"e\.jsonl\.zst: empty shard"):
        list(iter_pile([empty], max_documents=10))
    with pytest.raises(DatasetError, match=r"missing\.jsonl\.zst: Pile shard not found"):
        list(iter_pile([tmp_path / "missing.jsonl.zst"], max_documents=10))
    code = write_shard(tmp_path / "c.jsonl.zst", hand_documents()[:4])
    with pytest.raises(DatasetError, match=r"'text_features': .*no documents of pile_sets "
                       r"\['Github'\] \(sets seen: \{'EuroParl': 1, 'Pile-CC': 3\}\)"):
        build_text_features_pile([code], tmp_path / "x", features=["contains_digit"],
                                 examples_per_feature=10, positive_fraction=0.2,
                                 max_documents=10, max_chars=100, pile_sets=["Github"])


def test_context_window_ends_at_the_word_and_starts_at_a_word():
    text = "alpha beta gamma delta"
    window, s, e = context_window(text, 17, 22, 9)  # "delta"; a 9-char cut starts in "gamma"
    assert window == "delta" and window[s:e] == "delta"
    window, s, e = context_window(text, 17, 22, 12)
    assert window == "gamma delta" and window[s:e] == "delta"
    assert context_window(text, 6, 10, 100) == ("alpha beta", 6, 10)


def test_bottom_k_is_the_k_smallest_keys_whatever_the_order():
    rng = random.Random(5)
    keys = [sample_key(0, "f", i) for i in range(500)]
    for _ in range(3):
        order = rng.sample(range(500), 500)
        sample = BottomK(20)
        for i in order:
            sample.offer(keys[i], lambda i=i: i)
        assert sample.items() == sorted(range(500), key=keys.__getitem__)[:20]
        assert sample.seen == 500
    assert sample_key(0, "f", 1) != sample_key(1, "f", 1)


# ---------------------------------------------------------------------------------------------
# Text features


def test_build_text_features_output_is_unchanged_by_the_refactor(tmp_path):
    """Fingerprints recorded before the sampling core was shared with the Pile builder."""
    sae_probes_wheel(tmp_path / "sae.whl")
    spec = dict(corpora=["97_news_class", "102_twt_emotion", "56_wikidatasex_or_gender"],
                texts_per_corpus=40, max_chars=200, features=sorted(PREDICATES),
                examples_per_feature=30, positive_fraction=0.2, aggregation="last",
                test_fraction=0.3, name="text_features")
    for seed, expected in ((0, "aeb1850fc8bd4cda"), (3, "58d587da0ac145f8")):
        ds = build_text_features(tmp_path / "sae.whl", tmp_path / str(seed), seed=seed, **spec)
        assert ds.fingerprint == expected


TEXT_SPEC = dict(features=sorted(PREDICATES), examples_per_feature=30, positive_fraction=0.2,
                 max_documents=120, max_chars=300, aggregation="last", test_fraction=0.3)


def test_text_features_pile_labels_split_and_determinism(pile, tmp_path):
    first = build_text_features_pile(pile["shards"], tmp_path / "a", seed=1, name="tf",
                                     **TEXT_SPEC)
    again = build_text_features_pile(pile["shards"], tmp_path / "b", seed=1, name="tf",
                                     **TEXT_SPEC)
    assert same_bytes(tmp_path / "a", tmp_path / "b") and first.fingerprint == again.fingerprint
    ds = load_feature_dataset(tmp_path / "a")
    assert ds.category == "text_features" and ds.meta["read"]["documents"] == 120
    rows = ds.labels.join(ds.examples, on="example_id")
    for row in rows.iter_rows(named=True):
        unit = row["text"][row["span_start"]:row["span_end"]]
        assert PREDICATES[row["feature"]](unit) == row["label"], (row["feature"], unit)
    assert (ds.labels.group_by("feature").agg(pl.col("label").mean())["label"] == 0.2).all()
    assert one_side_per(ds) and ds.examples["document_id"].n_unique() > 20
    assert ds.examples["text"].str.len_chars().max() <= 300
    other = build_text_features_pile(pile["shards"], tmp_path / "c", seed=2, name="tf",
                                     **TEXT_SPEC)
    assert other.fingerprint != first.fingerprint


def test_text_features_pile_unknown_predicate_and_too_few(pile, tmp_path):
    spec = {**TEXT_SPEC, "features": ["contains_digit", "is_emoji"]}
    with pytest.raises(DatasetError, match=r"unknown predicates \['is_emoji'\]"):
        build_text_features_pile(pile["shards"], tmp_path / "x", seed=0, name="tf", **spec)
    spec = {**TEXT_SPEC, "features": ["is_not_ascii"], "max_documents": 3}
    with pytest.raises(DatasetError, match="predicate 'is_not_ascii' has 0 positive pre-tokens "
                       "in the 3 Pile documents read"):
        build_text_features_pile(pile["shards"], tmp_path / "y", seed=0, name="tf", **spec)


# ---------------------------------------------------------------------------------------------
# Compound words


def test_bigram_occurrences_on_hand_checked_sentences():
    text = hand_documents()[0]["text"]
    found = [(text[s:e], kind) for s, e, kind in
             bigram_occurrences(text, Bigram("high-school", "high", "school"))]
    # "High School" (case-insensitive) is the bigram; "high-school" and "high\nschool" are
    # neither positive nor negative; "high quality" gives the negative "quality".
    assert found == [("School", BIGRAM), ("school", SECOND_ALONE), ("quality", AFTER_FIRST),
                     ("school", SECOND_ALONE)]
    text = hand_documents()[1]["text"]
    found = [(text[s:e], kind) for s, e, kind in
             bigram_occurrences(text, Bigram("social-security", "social", "security"))]
    assert found == [("Security", BIGRAM), ("security", SECOND_ALONE), ("media", AFTER_FIRST)]


def test_bigram_scanner_finds_what_the_reference_regexes_find():
    bigrams = [Bigram(f, *f.split("-")) for f in PAPER_BIGRAMS]
    scanner = BigramScanner(bigrams)
    vocabulary = sorted({w for f in PAPER_BIGRAMS for w in f.split("-")}) + ["the", "x_y", "9"]
    rng = random.Random(11)
    texts = [d["text"] for d in hand_documents()]
    for _ in range(300):
        words = [rng.choice(vocabulary) for _ in range(30)]
        words = [w.upper() if rng.random() < 0.1 else w for w in words]
        texts.append("".join(w + rng.choice([" ", " ", " ", "  ", "-", "\n", ", ", "s "])
                             for w in words))
    for text in texts:
        found = scanner.scan(text)
        for bigram in bigrams:
            assert found.get(bigram.feature, []) == bigram_occurrences(text, bigram), text


COMPOUND_SPEC = dict(features=["high-school", "social-security"], examples_per_feature=40,
                     max_documents=None, max_chars=120, aggregation="last", test_fraction=0.3)


def test_compound_words_pile_labels_spans_split_and_determinism(pile, tmp_path):
    first = build_compound_words_pile(pile["shards"], tmp_path / "a", seed=0, name="cw",
                                      max_per_document=3, **COMPOUND_SPEC)
    build_compound_words_pile(pile["shards"], tmp_path / "b", seed=0, name="cw",
                              max_per_document=3, **COMPOUND_SPEC)
    assert same_bytes(tmp_path / "a", tmp_path / "b")
    ds = load_feature_dataset(tmp_path / "a")
    assert ds.category == "compound_words" and ds.features == COMPOUND_SPEC["features"]
    rows = ds.labels.join(ds.examples, on="example_id")
    for row in rows.iter_rows(named=True):
        w1, w2 = row["feature"].split("-")
        text, word = row["text"], row["text"][row["span_start"]:row["span_end"]]
        assert row["span_end"] == len(text) and len(text) <= 120  # the text ends at the word
        preceded = re.search(rf"(?<!\w){w1} $", text[:row["span_start"]],
                             re.IGNORECASE) is not None
        assert row["label"] == (word.lower() == w2 and preceded), (row["feature"], text)
        assert word.lower() == w2 or preceded  # a negative: w2 alone, or the word after w1
    counts = rows.group_by("feature", "label").len().sort("feature", "label")
    assert counts["len"].to_list() == [20, 20, 20, 20]
    assert one_side_per(ds)
    per_doc = rows.group_by("feature", "document_id", "label").len()
    assert per_doc.filter(pl.col("label"))["len"].max() <= 3  # max_per_document, per kind
    assert per_doc["len"].max() <= 6
    other = build_compound_words_pile(pile["shards"], tmp_path / "c", seed=1, name="cw",
                                      max_per_document=3, **COMPOUND_SPEC)
    assert other.fingerprint != first.fingerprint
    flipped = build_compound_words_pile(pile["shards"][::-1], tmp_path / "d", seed=0, name="cw",
                                        max_per_document=3, **COMPOUND_SPEC)
    columns = ["feature", "label", "text", "span_start", "span_end"]
    assert (flipped.labels.join(flipped.examples, on="example_id").select(columns).sort(columns)
            .equals(rows.select(columns).sort(columns)))  # the sample ignores the shard order


def test_compound_words_pile_reads_the_hand_checked_document(pile, tmp_path):
    """min_positives takes every positive found (the hand-checked one among them)."""
    ds = build_compound_words_pile(
        pile["shards"], tmp_path / "h", seed=0, name="cw", features=["high-school"],
        examples_per_feature=1000, positive_fraction=0.5, min_positives=2, max_documents=40,
        max_chars=60, aggregation="last", test_fraction=0.3)
    rows = ds.labels.join(ds.examples, on="example_id")
    available = ds.meta["available"]["high-school"]
    assert rows["label"].sum() == available[BIGRAM] == rows.height // 2
    ohio = rows.filter(pl.col("text").str.ends_with("High School"))
    assert ohio["text"].to_list() == ["She taught at a High School"] and ohio["label"].all()
    quality = rows.filter(pl.col("text").str.ends_with("high quality"))
    assert not quality["label"].any()
    with pytest.raises(DatasetError, match="'high-school' has 1 positive example.* from 1 "
                       "document"):
        build_compound_words_pile(
            [write_shard(tmp_path / "one.jsonl.zst", [
                {"text": "my high school and your high school", "meta": {}},
                {"text": "the school is high up", "meta": {}},
                {"text": "a school, a high wall", "meta": {}}])],
            tmp_path / "one", seed=0, name="cw", features=["high-school"],
            examples_per_feature=4, min_positives=2, max_documents=5, max_chars=60,
            aggregation="last", test_fraction=0.3, positive_fraction=0.25)


def test_compound_words_pile_errors_name_the_feature(pile, tmp_path):
    with pytest.raises(DatasetError, match="unknown compound-word feature 'highschool'"):
        build_compound_words_pile(pile["shards"], tmp_path / "x", seed=0, name="cw",
                                  **{**COMPOUND_SPEC, "features": ["highschool"]})
    with pytest.raises(DatasetError, match="compound word 'second-derivative' has 0 positive "
                       "occurrences in the 155 Pile documents read"):
        build_compound_words_pile(pile["shards"], tmp_path / "y", seed=0, name="cw",
                                  **{**COMPOUND_SPEC, "features": ["second-derivative"]})
    with pytest.raises(DatasetError, match="'high-school' has 1 positive occurrences in the 5 "):
        build_compound_words_pile(pile["shards"], tmp_path / "z", seed=0, name="cw",
                                  **{**COMPOUND_SPEC, "max_documents": 5})


# ---------------------------------------------------------------------------------------------
# Wikidata facts


def test_names_and_surnames_on_hand_checked_sentences():
    text = hand_documents()[2]["text"]
    names = ["Ada Lovelace", "Martin Luther King Jr.", "Adam Smith", "Adam Smithson"]
    index: dict[str, list[str]] = {}
    for name in sorted(names, key=lambda n: -len(n)):
        index.setdefault(name.split()[0], []).append(name)
    assert [n for _, _, n in find_names(text, index)] == [
        "Ada Lovelace", "Martin Luther King Jr.", "Adam Smithson", "Adam Smith"]
    for name, surname in (("Ada Lovelace", "Lovelace"), ("Martin Luther King Jr.", "King Jr."),
                          ("Ludwig van Beethoven", "Beethoven"), ("Cher", "Cher")):
        assert name[slice(*surname_span(name))] == surname


WIKI_SPEC = dict(properties=["sex_or_gender:female", "is_alive", "occupation",
                             "athlete_sport:football"],
                 examples_per_class=12, max_documents=None, max_chars=150, aggregation="max",
                 test_fraction=0.3)


def test_wikidata_pile_labels_spans_and_person_split(pile, tmp_path):
    first = build_wikidata_pile(pile["shards"], tmp_path / "a", facts=pile["facts"], seed=0,
                                name="wd", **WIKI_SPEC)
    build_wikidata_pile(pile["shards"], tmp_path / "b", facts=str(pile["facts"]), seed=0,
                        name="wd", **WIKI_SPEC)
    assert same_bytes(tmp_path / "a", tmp_path / "b")
    ds = load_feature_dataset(tmp_path / "a")
    assert ds.category == "wikidata" and ds.aggregation == "max"
    assert ds.features == ["sex_or_gender:female", "is_alive", "occupation:actor",
                           "occupation:athlete", "occupation:politician",
                           "athlete_sport:football"]
    facts = {r["name"]: r for r in pl.read_csv(pile["facts"]).iter_rows(named=True)}
    rows = ds.labels.join(ds.examples, on="example_id")
    for row in rows.iter_rows(named=True):
        person = row["document_id"].removeprefix("person:")
        assert row["text"].endswith(person) and len(row["text"]) <= 150
        assert row["text"][row["span_start"]:row["span_end"]] == person.split()[-1] or \
            person == "Martin Luther King Jr."
        column, _, value = row["feature"].partition(":")
        truth = facts[person][column]
        assert row["label"] == (truth == value if value else truth is True), (row, truth)
    assert one_side_per(ds)  # a person's occurrences on one side of the split
    per_class = rows.group_by("feature", "label").len()
    assert per_class["len"].max() <= 12 and per_class["len"].min() >= 5
    assert (rows.group_by("feature", "document_id").len()["len"] == 1).all()  # 1 per person
    other = build_wikidata_pile(pile["shards"], tmp_path / "c", facts=pile["facts"], seed=5,
                                name="wd", **WIKI_SPEC)
    assert other.fingerprint != first.fingerprint


def test_wikidata_pile_reads_hand_checked_names_and_list_facts(pile, tmp_path):
    people = bulk_people()
    for i in (1, 4, 7):
        people[i]["occupation"] = ["actor", "singer"]
    rows = [{**p, "occupation": p["occupation"] if isinstance(p["occupation"], list)
             else [p["occupation"]]} for p in people]
    hand = pl.read_csv(FIXTURES / "facts.csv").with_columns(
        pl.col("occupation").map_elements(lambda v: [v], return_dtype=pl.List(pl.String)))
    facts = tmp_path / "facts.jsonl"
    facts.write_text("".join(json.dumps(r) + "\n" for r in hand.to_dicts() + rows))
    ds = build_wikidata_pile(
        pile["shards"], tmp_path / "l", facts=facts, properties=["occupation:singer",
                                                                 "occupation:actor"],
        examples_per_class=200, min_per_class=2, max_documents=None, max_chars=60,
        aggregation="max", test_fraction=0.3, seed=0, name="wd")
    rows = ds.labels.join(ds.examples, on="example_id")
    singer = rows.filter(pl.col("feature") == "occupation:singer", pl.col("label"))
    assert sorted(singer["document_id"].unique()) == sorted(
        f"person:{people[i]['name']}" for i in (1, 4, 7))
    king = rows.filter(pl.col("document_id") == "person:Martin Luther King Jr.")
    assert king.height == 2 and not king["label"].any()  # a politician: negative for both
    assert king["text"][0] == "Ada Lovelace spoke about engines. Martin Luther King Jr."  # cut
    assert king["text"][0][king["span_start"][0]:king["span_end"][0]] == "King Jr."
    smith = rows.filter(pl.col("document_id") == "person:Adam Smithson")
    assert smith["label"].to_list() == [False, True]  # an actor, not a singer (feature order)


def test_wikidata_pile_errors_name_the_property_and_file(pile, tmp_path):
    with pytest.raises(DatasetError, match=r"unknown property 'birthplace': .*facts\.csv has no "
                       "column 'birthplace'"):
        build_wikidata_pile(pile["shards"], tmp_path / "x", facts=pile["facts"], seed=0,
                            name="wd", **{**WIKI_SPEC, "properties": ["birthplace"]})
    with pytest.raises(DatasetError, match="unknown property 'is_alive:yes'"):
        build_wikidata_pile(pile["shards"], tmp_path / "x", facts=pile["facts"], seed=0,
                            name="wd", **{**WIKI_SPEC, "properties": ["is_alive:yes"]})
    with pytest.raises(DatasetError, match="feature 'occupation:researcher' has 2 positive"):
        build_wikidata_pile(pile["shards"], tmp_path / "y", facts=pile["facts"], seed=0,
                            name="wd", **{**WIKI_SPEC, "properties": ["occupation:researcher"]})
    with pytest.raises(DatasetError, match=r"nope\.csv: file not found"):
        build_wikidata_pile(pile["shards"], tmp_path / "z", facts=tmp_path / "nope.csv", seed=0,
                            name="wd", **WIKI_SPEC)
