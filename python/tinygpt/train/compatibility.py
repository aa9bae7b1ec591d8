"""Checks that the tokenizer and the model fit together, before any training."""

from __future__ import annotations

import os

from tinygpt.errors import ConfigError
from tinygpt.tokenizer.bpe import BPETokenizer


def check_vocab_fits(vocab_size: int, tokenizer: BPETokenizer, tokenizer_path: str | os.PathLike[str]) -> None:
    """Token ids at or above the model's vocab_size would index past its embedding table."""
    if vocab_size < tokenizer.vocab_size:
        raise ConfigError(
            f"transformer config vocab_size {vocab_size} is smaller than the tokenizer's "
            f"{tokenizer.vocab_size} ({tokenizer_path}); set vocab_size >= {tokenizer.vocab_size}"
        )
