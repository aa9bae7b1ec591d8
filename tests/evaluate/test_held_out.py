"""Held-out evaluation: every token predicted exactly once, and bits per byte from nats."""

from __future__ import annotations

import math

import pytest
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


@pytest.mark.parametrize(("length", "context", "stride"), [(2, 4, 1), (10, 4, 4), (10, 4, 1), (37, 8, 3), (64, 16, 5)])
def test_overlapping_windows_score_every_target_once_with_its_own_tokens_before_it(length, context, stride):
    document = list(range(100, 100 + length))
    scored = []
    for x, y in document_windows([document], context, 3, stride):
        for inputs, targets in zip(x.tolist(), y.tolist(), strict=True):
            last = max(position for position, target in enumerate(targets) if target != IGNORE_INDEX)
            assert inputs[1 : last + 1] == [token + 1 for token in inputs[:last]]  # a stretch of the document
            for position, target in enumerate(targets):
                if target != IGNORE_INDEX:
                    assert target == inputs[position] + 1  # the next token of the document
                    scored.append(target)
                    # Past the first window, at least context - stride tokens of the document before it.
                    assert position >= min(context - stride, target - 100 - 1)
    assert scored == list(range(101, 100 + length))


def test_a_stride_outside_one_to_the_context_is_refused():
    with pytest.raises(ValueError, match="stride must be between 1 and the context length 4, got 5"):
        next(document_windows([[1, 2, 3]], 4, 2, stride=5))


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
