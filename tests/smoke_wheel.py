"""Smoke test run by cibuildwheel against each freshly built wheel (see pyproject.toml).

Exercises every compiled module through the public API on the embedded corpus: train a
tokenizer, round-trip text, write shards, read a batch back through the mmap loader, and decode
a few tokens on one thread in the decoding layout (the one-row product of tinygpt._matvec).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import tinygpt._bpe
import tinygpt._loader
import tinygpt._matvec
import torch

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
        expected = model.generate(x[:1, :4], 4, greedy=True)
        torch.set_num_threads(1)
        assert model.use_decoding_layout().generate(x[:1, :4], 4, greedy=True).equal(expected)
    print("tinygpt wheel smoke test passed:", tinygpt._bpe.__name__, tinygpt._loader.__name__, tinygpt._matvec.__name__)


if __name__ == "__main__":
    main()
