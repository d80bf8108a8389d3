"""Models: loading a configured model through TransformerBridge, and the offline ladder.

- ``loading``: a model spec (hub id, local directory or ladder rung) -> a loaded bridge + tokenizer;
- ``hardware``: devices, dtypes, model shapes and throughput figures;
- ``ladder_corpus`` and ``ladder``: the offline GPT-NeoX ladder's corpus, tokenizer and training.
"""
