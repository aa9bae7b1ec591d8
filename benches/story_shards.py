"""The shards every recipe measurement trains and scores on: TinyStories (the 5,209-story
sample), byte-level BPE with 2,048 tokens trained on the training stories only, the last 10 %
of the stories held out. The held-out stories are never trained on, not even by the tokenizer.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from tinygpt.data import tokenize_corpus
from tinygpt.tokenizer import BPETokenizer

VOCAB_SIZE = 2048
VAL_FRACTION = 0.1


def make_story_shards(parquet: Path, out: Path) -> Path:
    """Write the shards into ``out`` (reused when already complete) and return it."""
    if (out / "manifest.json").is_file():
        return out
    stories = pq.read_table(parquet).column(0).to_pylist()
    training_stories = stories[: int(len(stories) * (1 - VAL_FRACTION))]  # the tail split's
    tokenizer = BPETokenizer.train(training_stories, VOCAB_SIZE, mode="bytes")
    tokenize_corpus(parquet, tokenizer, out, val_fraction=VAL_FRACTION, split="tail", show_progress=False)
    return out
