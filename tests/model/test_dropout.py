"""The cheaper CPU dropout keeps nn.Dropout's rule: keep with probability 1 - p, scale kept
values by 1 / (1 - p), gradients through the same mask, reproducible from torch's seed."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from tinygpt.model.dropout import Dropout, dropout, keep_mask
from tinygpt.model.gpt import _causal_attention_written_out


def test_keep_fraction_is_one_minus_p():
    count = 2_000_000
    for p in (0.05, 0.5, 0.9):
        kept = keep_mask(torch.Size([count]), p).double().mean().item()
        assert abs(kept - (1 - p)) < 5 * math.sqrt(p * (1 - p) / count)


def test_kept_values_are_scaled_and_gradients_use_the_same_mask():
    x = torch.randn(64, 100, requires_grad=True)
    y = dropout(x, 0.2, training=True)
    kept = y != 0
    torch.testing.assert_close(y[kept], x.detach()[kept] / 0.8)
    y.sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, kept.float() / 0.8)


def test_identity_when_not_training_or_p_is_zero():
    x = torch.randn(5, 7)
    assert dropout(x, 0.3, training=False) is x
    assert dropout(x, 0.0, training=True) is x
    module = Dropout(0.3).eval()
    assert module(x) is x
    assert "p=0.3" in repr(module)


def test_masks_follow_torch_seed():
    torch.manual_seed(3)
    first = keep_mask(torch.Size([10, 10]), 0.5)
    torch.manual_seed(3)
    assert torch.equal(first, keep_mask(torch.Size([10, 10]), 0.5))


def test_odd_sizes_get_a_full_mask():
    assert keep_mask(torch.Size([3, 5, 7]), 0.1).shape == (3, 5, 7)


def test_written_out_attention_equals_sdpa_when_nothing_is_dropped():
    q, k, v = torch.randn(3, 2, 4, 9, 8).unbind(0)
    # p below 2^-33 rounds to a threshold that keeps every element.
    ours = _causal_attention_written_out(q, k, v, 1e-12)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, is_causal=True))
