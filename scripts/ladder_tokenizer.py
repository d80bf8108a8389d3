import _bootstrap  # noqa: F401
from pathlib import Path

from sparseprobe.models.ladder import tokenize_corpus, train_tokenizer
from sparseprobe.workflow.logs import logged

with logged(snakemake.log[0]) as log:
    corpus, tokenizer_dir = Path(snakemake.input[0]), Path(snakemake.output.tokenizer)
    train_tokenizer(corpus, tokenizer_dir, snakemake.params.vocab_size)
    n_tokens = tokenize_corpus(corpus, tokenizer_dir, Path(snakemake.output.stream))
    log.info("tokenizer with vocab %d; token stream of %d tokens", snakemake.params.vocab_size, n_tokens)
