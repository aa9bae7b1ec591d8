"""The strided scorer of sliding_score.py scores the evaluator's targets (tests/evaluate checks
that overlapping windows score each target once)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sliding_score import held_out_documents, strided_bits_per_byte

from tinygpt.data import TokenLoader, read_manifest, tokenize_corpus
from tinygpt.data.sources import embedded_corpus_path
from tinygpt.evaluate import held_out_loss
from tinygpt.model import GPT, GPTConfig
from tinygpt.tokenizer import BPETokenizer


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("shards")
    tokenizer = BPETokenizer.train(embedded_corpus_path(), 300, mode="words")
    tokenize_corpus(embedded_corpus_path(), tokenizer, directory, show_progress=False)
    return directory


def test_documents_hold_every_held_out_target(shards):
    documents = held_out_documents(shards)
    manifest = read_manifest(shards)
    assert len(documents) == manifest.split("val").documents
    assert sum(len(document) - 1 for document in documents) == manifest.split("val").tokens


def test_a_stride_of_the_context_is_the_evaluator(shards):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=300, embedding_size=32, context_length=16, head_count=2, block_count=1))
    windows = TokenLoader(shards, 32, 16, split="val").iter_eval()
    text_bytes = read_manifest(shards).split("val").text_bytes
    evaluator = held_out_loss(model.eval(), windows, torch.device("cpu"), text_bytes=text_bytes).bits_per_byte
    assert strided_bits_per_byte(model, 16, shards, 16) == pytest.approx(evaluator, rel=1e-6)
    assert strided_bits_per_byte(model, 16, shards, 4) != pytest.approx(evaluator, rel=1e-6)
