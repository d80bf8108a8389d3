"""The dependency relations the silver parser predicts (ClearNLP labels) and the nearest UD
relation of each.

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
