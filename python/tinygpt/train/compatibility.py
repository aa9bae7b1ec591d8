"""Checks that the shards, the tokenizer and the model fit together, before any training."""

from __future__ import annotations

import os
from typing import Any

from tinygpt.errors import ConfigError, DataError


def check_shards_match_tokenizer(manifest: Any, tokenizer: Any,
                                 data_dir: str | os.PathLike[str]) -> None:
    """Shards made by another tokenizer would train (or evaluate) on meaningless ids."""
    expected = tokenizer.fingerprint()
    if manifest.tokenizer_fingerprint != expected:
        raise DataError(
            f"{data_dir}: shards were made by another tokenizer (manifest fingerprint "
            f"{manifest.tokenizer_fingerprint[:12]}…, this tokenizer {expected[:12]}…); "
            "re-tokenize the corpus with this run's tokenizer.ron"
        )


def check_vocab_fits(vocab_size: int, tokenizer: Any, tokenizer_path: str | os.PathLike[str]) -> None:
    """Token ids at or above the model's vocab_size would index past its embedding table."""
    if vocab_size < tokenizer.vocab_size:
        raise ConfigError(
            f"transformer config vocab_size {vocab_size} is smaller than the tokenizer's "
            f"{tokenizer.vocab_size} ({tokenizer_path}); set vocab_size >= {tokenizer.vocab_size}"
        )
