"""A model trained like the quickstart's (document sampling, the embedded stories) ends its
stories on its own: the end-of-text token that closes each story is a training target, so
sampling stops at the end of a sentence instead of running to the token limit."""

from __future__ import annotations

import torch

from tests.train.support import one_torch_thread  # noqa: F401 (autouse fixture)
from tinygpt.data import TokenLoader, tokenize_corpus
from tinygpt.data.sources import embedded_corpus_path
from tinygpt.model.config import GPTConfig
from tinygpt.run import load_run
from tinygpt.tokenizer import BPETokenizer
from tinygpt.train import TrainConfig, train

SENTENCE_ENDS = (".", "!", "?", '"')


def test_a_trained_model_ends_its_stories_at_a_sentence_end(tmp_path):
    tokenizer = BPETokenizer.train(embedded_corpus_path(), 400, mode="bytes", show_progress=False)
    tokenizer.save(tmp_path / "tokenizer.ron")
    shards = tmp_path / "shards"
    tokenize_corpus(embedded_corpus_path(), tokenizer, shards, val_fraction=0.1, show_progress=False)
    loader = TokenLoader(shards, 1, 64)
    mean_story = loader.num_tokens / loader.num_documents
    # The quickstart's model and recipe, smaller and for a fixed number of steps.
    model_config = GPTConfig(
        vocab_size=400,
        embedding_size=64,
        context_length=64,
        head_count=2,
        block_count=2,
        embedding_dropout=0.0,
        attention_dropout=0.0,
        feed_forward_dropout=0.0,
        residual_dropout=0.0,
    )
    train_config = TrainConfig(
        learning_rate=3e-3,
        training_iterations=150,
        evaluation_interval=150,
        evaluation_iterations=1,
        contexts_per_batch=16,
    )
    train(shards, tmp_path / "run", model_config, train_config, device="cpu", precision="fp32", show_progress=False)

    model, tokenizer = load_run(tmp_path / "run")
    prompt = tokenizer.encode("Once upon a time", allowed_special="none")
    samples = model.generate(
        torch.tensor([prompt] * 16), int(3 * mean_story), temperature=0.7, generator=torch.Generator().manual_seed(0)
    )[:, len(prompt) :]
    ends = [row.tolist().index(tokenizer.eot_id) for row in samples if tokenizer.eot_id in row]
    assert len(ends) >= 12, f"only {len(ends)} of 16 stories ended within {int(3 * mean_story)} tokens"
    endings = [tokenizer.decode(row[:end].tolist()).rstrip() for row, end in zip(samples, ends)]
    at_sentence_end = sum(text.endswith(SENTENCE_ENDS) for text in endings)
    assert at_sentence_end >= 0.75 * len(ends), endings
