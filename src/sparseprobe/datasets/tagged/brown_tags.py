"""Brown tags -> Universal Dependencies: the labelling of the Brown part-of-speech and
morphology datasets.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
LEXICAL_BASES = {base for base, _ in BROWN_LEXICAL}
TAG_MODIFIER = re.compile(r"-(tl|hl|nc|t|h|n)$")
_TITLE_PROPN = {"NOUN", "ADJ", "VERB"}


def is_placeholder(word: str) -> bool:
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
    if is_placeholder(word):
        return TagAnalysis(False, reason="placeholder")
    rest = tag.lower()
    if rest.startswith("fw-"):
        return TagAnalysis(True, frozenset({"X"}), _reading_morph("X", {}))
    title = False
    while rest != "--" and (m := TAG_MODIFIER.search(rest)):
        title |= m.group(1) in ("tl", "t")
        rest = rest[: m.start()]
    if "+" in rest:
        return TagAnalysis(False, reason="contraction")
    if rest != "*" and rest.endswith("*"):
        return TagAnalysis(False, reason="negated contraction")
    entry = BROWN_LEXICAL.get((rest, word.lower())) if rest in LEXICAL_BASES else None
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
