"""CPU training attention is written out where that is cheaper than torch's fused kernel (bf16
up to 128 positions, or with dropout), and computes what the fused kernel computes."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from tinygpt.model import GPT, GPTConfig
from tinygpt.model.gpt import WRITTEN_OUT_BF16_MAX_STEPS, _causal_attention_written_out, _write_out_attention

NO_DROPOUT = GPTConfig(
    vocab_size=50,
    embedding_size=24,
    context_length=16,
    head_count=3,
    block_count=2,
    embedding_dropout=0.0,
    attention_dropout=0.0,
    feed_forward_dropout=0.0,
    residual_dropout=0.0,
)


@pytest.mark.parametrize(
    ("dtype", "steps", "dropout_p", "written_out"),
    [
        (torch.bfloat16, 64, 0.0, True),
        (torch.bfloat16, WRITTEN_OUT_BF16_MAX_STEPS, 0.0, True),
        (torch.bfloat16, WRITTEN_OUT_BF16_MAX_STEPS + 1, 0.0, False),
        (torch.float32, 64, 0.0, False),
        (torch.float32, 64, 0.1, True),
        (torch.bfloat16, 512, 0.1, True),
    ],
)
def test_written_out_where_it_is_cheaper(dtype, steps, dropout_p, written_out):
    q = torch.zeros(2, 4, steps, 8, dtype=dtype)
    assert _write_out_attention(q, dropout_p) is written_out


def test_written_out_attention_equals_sdpa_in_bf16():
    q, k, v = torch.randn(3, 2, 4, 64, 32).to(torch.bfloat16).unbind(0)
    ours = _causal_attention_written_out(q, k, v, 0.0)
    assert ours.dtype == torch.bfloat16
    fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(ours.float(), fused.float(), atol=0.03, rtol=0.03)


def test_bf16_training_gradients_through_the_written_out_path_are_as_close_as_sdpas(monkeypatch):
    """The same weights and batch: under bf16 autocast the training step takes the written-out
    attention, whose gradients stay as close to float32's as those through the fused kernel."""
    torch.manual_seed(0)
    model = GPT(NO_DROPOUT).train()
    idx = torch.randint(0, NO_DROPOUT.vocab_size, (4, NO_DROPOUT.context_length))

    def gradients(autocast: bool) -> list[torch.Tensor]:
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = F.cross_entropy(model(idx).flatten(0, 1), idx.flatten())
        loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    float32 = gradients(autocast=False)
    calls = []
    monkeypatch.setattr(
        "tinygpt.model.gpt._causal_attention_written_out",
        lambda *args: calls.append(args) or _causal_attention_written_out(*args),
    )
    written_out = gradients(autocast=True)
    assert len(calls) == NO_DROPOUT.block_count
    monkeypatch.setattr("tinygpt.model.gpt._write_out_attention", lambda q, p: False)
    fused = gradients(autocast=True)
    for exact, ours, theirs in zip(float32, written_out, fused):
        our_error, their_error = ((g - exact).norm() / exact.norm() for g in (ours, theirs))
        assert our_error < 0.05 and our_error < 1.5 * their_error + 0.005
