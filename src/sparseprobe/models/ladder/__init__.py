"""Train a "ladder" of tiny Pythia-architecture language models, offline.

The recipe follows how the Pythia suite was made, scaled down to a laptop:

1. one byte-level BPE tokenizer is trained on the corpus (:func:`train_tokenizer`);
2. the corpus is tokenized once into a single token stream, documents separated
   by the ``<|endoftext|>`` token (id 0) (:func:`tokenize_corpus`);
3. several GPT-NeoX models of geometrically growing width and depth
   (:class:`LadderModelSpec`, :func:`build_config`) are trained on exactly the same
   token windows in exactly the same order (:func:`train_model`).

Every trained model is written as an ordinary Hugging Face directory (model weights in
safetensors + tokenizer files + ``training.json``), loadable with
``transformers.AutoModelForCausalLM`` and with
``transformer_lens.model_bridge.TransformerBridge.boot_transformers``.

The package follows those steps: :mod:`.spec` (rung and training settings, the defaults),
:mod:`.tokenizer` (steps 1-2), :mod:`.training` (step 3), :mod:`.files` (atomic writes and the
saved training report) and :mod:`.corpus` (the training corpus built from the pinned sources).
"""

from sparseprobe.models.ladder.files import read_report, remove_stale_temps
from sparseprobe.models.ladder.spec import (
    DEFAULT_LADDER,
    DEFAULT_TRAINING,
    DEFAULT_VOCAB_SIZE,
    EOS_ID,
    EOS_TOKEN,
    LadderError,
    LadderModelSpec,
    TrainingReport,
    TrainingSpec,
)
from sparseprobe.models.ladder.tokenizer import tokenize_corpus, train_tokenizer
from sparseprobe.models.ladder.training import build_config, train_model, window_order

__all__ = [
    "DEFAULT_LADDER",
    "DEFAULT_TRAINING",
    "DEFAULT_VOCAB_SIZE",
    "EOS_TOKEN",
    "EOS_ID",
    "LadderError",
    "LadderModelSpec",
    "TrainingSpec",
    "TrainingReport",
    "train_tokenizer",
    "tokenize_corpus",
    "build_config",
    "train_model",
    "window_order",
    "read_report",
    "remove_stale_temps",
]
