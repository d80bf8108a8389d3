"""Feature datasets built the paper's way from its own source: Pile text.

Users who are online can download Pile shards (``*.jsonl.zst``; one JSON object a line,
``{"text": ..., "meta": {"pile_set_name": "Pile-CC" | "Github" | "EuroParl" | ...}}``); the
offline builders read sae-probes copies of the same categories instead. One module per idea:

- ``shards``: streaming the shards (``iter_pile``), at most ``max_documents``, duplicates once;
- ``sampling``: context windows, seeded bottom-k sampling and writing a dataset;
- ``text_features``: the paper's 11 token-string predicates over Pile pre-tokens;
- ``compound_words``: the paper's compound-word bigrams and their near misses;
- ``wikidata``: a person's full name in context, labelled by that person's facts.

Every builder is a deterministic function of the shards, the config and the seed; each error
names the shard and line, the feature or the facts column at fault.
"""

from sparseprobe.datasets.pile.compound_words import (
    AFTER_FIRST,
    BIGRAM,
    SECOND_ALONE,
    Bigram,
    BigramScanner,
    bigram_occurrences,
    build_compound_words_pile,
)
from sparseprobe.datasets.pile.sampling import BottomK, context_window, sample_key
from sparseprobe.datasets.pile.shards import (
    PILE_FORMAT,
    PileDocument,
    PileReading,
    iter_pile,
    shard_paths,
)
from sparseprobe.datasets.pile.text_features import build_text_features_pile
from sparseprobe.datasets.pile.wikidata import (
    FactFeature,
    Person,
    build_wikidata_pile,
    find_names,
    read_people,
    surname_span,
)

__all__ = [
    "AFTER_FIRST", "BIGRAM", "PILE_FORMAT", "SECOND_ALONE", "Bigram", "BigramScanner", "BottomK",
    "FactFeature", "Person", "PileDocument", "PileReading", "bigram_occurrences",
    "build_compound_words_pile", "build_text_features_pile", "build_wikidata_pile",
    "context_window", "find_names", "iter_pile", "read_people", "sample_key", "shard_paths",
    "surname_span",
]
