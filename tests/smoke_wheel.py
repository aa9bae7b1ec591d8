"""Smoke test run by cibuildwheel against each freshly built wheel (see pyproject.toml).

Exercises both compiled modules through the public API on the embedded corpus: train a
tokenizer, round-trip text, write shards, and read a batch back through the mmap loader.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import tinygpt._bpe
import tinygpt._loader

from tinygpt import GPT, BPETokenizer, GPTConfig
from tinygpt.data import TokenLoader, tokenize_corpus
from tinygpt.data.sources import embedded_corpus_path


def main() -> None:
    corpus = embedded_corpus_path()
    tokenizer = BPETokenizer.train(corpus, 400, mode="bytes", show_progress=False)
    text = 'Once upon a time, a little fox said "hello" to 🌍.'
    assert tokenizer.decode(tokenizer.encode(text)) == text

    with tempfile.TemporaryDirectory() as tmp:
        shards = Path(tmp) / "shards"
        tokenize_corpus(corpus, tokenizer, shards, val_fraction=0.1, show_progress=False)
        x, y = next(iter(TokenLoader(shards, batch_size=4, context_length=32)))
        assert x.shape == (4, 32) and (x[:, 1:] == y[:, :-1]).all()
        model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_count=1, embedding_size=32))
        assert model(x).shape == (4, 32, tokenizer.vocab_size)
    print("tinygpt wheel smoke test passed:", tinygpt._bpe.__name__, tinygpt._loader.__name__)


if __name__ == "__main__":
    main()
