"""Helpers for the generation and REPL tests: a tiny run directory, a one-thread fixture.

The run follows `tinygpt train`'s layout (tinygpt.run): random weights and a small tokenizer
trained here, enough to exercise loading, sampling and decoding end to end in well under a
second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tinygpt.model import GPT, GPTConfig
from tinygpt.run.layout import CheckpointIndex, RunLayout, checkpoint_name
from tinygpt.tokenizer import BPETokenizer


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """Tiny models gain nothing from threads, and on a busy machine waiting threads made these
    tests 10x slower; the CLI also pins threads (--threads auto), which must not leak out."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


STORIES = [
    "Once upon a time there was a little cat. The cat liked to play in the sun.",
    "One day a girl named Lily found a big red ball. She was very happy — café, naïve, 😀!",
    "Tom and his dog ran to the park. They saw a bird and a tree.",
] * 5


def make_generation_run(root: Path, *, mode: str = "bytes", context_length: int = 32, seed: int = 0) -> Path:
    """Write RUN with a `mode` tokenizer ("bytes": with <|endoftext|>; "words": gpt-rs-like, none)."""
    if mode == "bytes":
        tokenizer = BPETokenizer.train(STORIES, 300, mode="bytes", show_progress=False)
    else:
        tokenizer = BPETokenizer.train(STORIES, 80, mode="words", special_tokens=(), show_progress=False)
    layout = RunLayout.of(root)
    layout.root.mkdir(parents=True)
    tokenizer.save(layout.tokenizer)
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size, embedding_size=32, context_length=context_length, head_count=2, block_count=2
    )
    config.save(layout.transformer_config)
    layout.info.write_text(json.dumps({"tokenizer_fingerprint": tokenizer.fingerprint()}))
    torch.manual_seed(seed)
    step = checkpoint_name(100)
    layout.checkpoints.joinpath(step).mkdir(parents=True)
    save_file(GPT(config).state_dict(), layout.checkpoints / step / "model.safetensors")
    CheckpointIndex(last=step, best=step, kept=[step]).write(layout)
    return layout.root
