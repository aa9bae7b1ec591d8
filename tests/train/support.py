"""Tiny shards, configs and metric readers shared by the training tests (seconds, not minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tinygpt.model import GPTConfig
from tinygpt.run import RunLayout
from tinygpt.train.config import TrainConfig
from tinygpt.train.metrics import read_metrics


def make_shards(directory: Path, *, vocab_size: int = 300) -> Path:
    """Shards of the package's embedded stories, with a words-mode tokenizer trained on them."""
    from tinygpt.data import tokenize_corpus
    from tinygpt.data.sources import embedded_corpus_path
    from tinygpt.tokenizer import BPETokenizer

    tokenizer = BPETokenizer.train(embedded_corpus_path(), vocab_size, mode="words")
    tokenize_corpus(embedded_corpus_path(), tokenizer, directory, show_progress=False)
    return directory


def tiny_model_config(vocab_size: int = 300, **changes) -> GPTConfig:
    fields = dict(vocab_size=vocab_size, embedding_size=32, context_length=16, head_count=2, block_count=2)
    return GPTConfig(**{**fields, **changes})


def tiny_train_config(**changes) -> TrainConfig:
    fields = dict(
        training_iterations=12,
        evaluation_interval=4,
        evaluation_iterations=2,
        contexts_per_batch=8,
        learning_rate=3e-3,
        log_interval=1,
    )
    return TrainConfig(**{**fields, **changes})


def metric_values(run: Path, kind: str, key: str) -> list[tuple[int, float]]:
    return [(r["step"], r[key]) for r in read_metrics(RunLayout.of(run).metrics) if r["kind"] == kind]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread; two spin-waiting threads on a busy 2-core CI
    machine make each step many times slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Shards of the embedded stories, made once per test module (a fixture to import)."""
    return make_shards(tmp_path_factory.mktemp("shards"))
