"""Held-out evaluation: every token predicted exactly once, and bits per byte from nats."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tinygpt.evaluate import IGNORE_INDEX, HeldOutLoss, document_windows, held_out_loss


@settings(max_examples=50, deadline=None)
@given(
    documents=st.lists(st.lists(st.integers(0, 99), min_size=1, max_size=40), max_size=8),
    context_length=st.integers(1, 9),
    batch_size=st.integers(1, 5),
)
def test_document_windows_predict_every_token_once_with_its_own_context(documents, context_length, batch_size):
    targets, contexts_ok = [], True
    for x, y in document_windows(documents, context_length, batch_size):
        assert x.shape == y.shape and x.shape[0] <= batch_size and x.shape[1] == context_length
        for row in range(x.shape[0]):
            real = int((y[row] != IGNORE_INDEX).sum())
            assert (y[row, real:] == IGNORE_INDEX).all()
            targets.extend(y[row, :real].tolist())
            contexts_ok &= bool((x[row, 1:real] == y[row, : real - 1]).all())
    assert targets == [t for doc in documents for t in doc[1:]]
    assert contexts_ok


class Uniform(nn.Module):
    """A model that knows nothing: loss ln(vocab) per token."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.anchor = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*x.shape, self.vocab) + self.anchor


def test_held_out_loss_of_a_uniform_model_is_log_vocab_and_bits_per_byte_follow():
    documents = [[1, 2, 3, 4, 5], [6, 7, 8]]
    result = held_out_loss(Uniform(16), document_windows(documents, 3, 2), torch.device("cpu"), text_bytes=12)
    assert result.tokens == 6
    assert math.isclose(result.loss, math.log(16), rel_tol=1e-6)
    assert math.isclose(result.bits_per_byte, 6 * 4 / 12, rel_tol=1e-6)


def test_bits_per_byte_is_absent_without_the_text_size():
    assert HeldOutLoss(loss=1.0, tokens=10, text_bytes=None).bits_per_byte is None
