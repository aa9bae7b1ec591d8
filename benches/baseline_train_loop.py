"""The peer of the training benchmark: a plain eager float32 PyTorch loop, nanoGPT style.

The model is gpt-rs's architecture written the way nanoGPT's model.py writes a GPT (fused q/k/v
linear, ``scaled_dot_product_attention``, the original's five dropouts); the loop is nanoGPT's
train.py on a CPU: ``np.memmap`` batches of random windows, float32, ``torch.optim.AdamW`` with
its defaults (foreach), gradient clipping, and ``loss.item()`` every step for the log line.
Nothing here comes from tinygpt, so the comparison is against plain PyTorch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HEADER_BYTES = 256 * 4  # llm.c shard header


@dataclass
class PlainConfig:
    vocab_size: int
    embedding_size: int
    context_length: int
    head_count: int
    block_count: int
    feed_forward_multiplier: int
    dropout: float


class PlainAttention(nn.Module):
    def __init__(self, c: PlainConfig) -> None:
        super().__init__()
        self.c_attn = nn.Linear(c.embedding_size, 3 * c.embedding_size)
        self.c_proj = nn.Linear(c.embedding_size, c.embedding_size)
        self.heads, self.dropout = c.head_count, c.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, width = x.shape
        q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2)
                   for z in self.c_attn(x).split(width, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, width))


class PlainBlock(nn.Module):
    def __init__(self, c: PlainConfig) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(c.embedding_size), nn.LayerNorm(c.embedding_size)
        self.attn = PlainAttention(c)
        hidden = c.feed_forward_multiplier * c.embedding_size
        self.mlp = nn.Sequential(nn.Linear(c.embedding_size, hidden), nn.ReLU(),
                                 nn.Linear(hidden, c.embedding_size), nn.Dropout(c.dropout))
        self.residual_dropout = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.residual_dropout(x) + self.attn(self.ln_1(x))
        return self.residual_dropout(x) + self.mlp(self.ln_2(x))


class PlainGPT(nn.Module):
    def __init__(self, c: PlainConfig) -> None:
        super().__init__()
        self.wte = nn.Embedding(c.vocab_size, c.embedding_size)
        self.wpe = nn.Embedding(c.context_length, c.embedding_size)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(PlainBlock(c) for _ in range(c.block_count))
        self.ln_f = nn.LayerNorm(c.embedding_size)
        self.lm_head = nn.Linear(c.embedding_size, c.vocab_size, bias=False)
        for module in self.modules():  # nanoGPT's init (gpt-rs's for the linears)
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(positions))
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def get_batch(shard: Path, batch_size: int, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """nanoGPT's get_batch: a fresh memmap per batch, random offsets, int64 copies."""
    data = np.memmap(shard, dtype=np.uint16, mode="r", offset=HEADER_BYTES)
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([torch.from_numpy(data[i:i + block_size].astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + block_size].astype(np.int64)) for i in ix])
    return x, y


def plain_train(shard: Path, config: PlainConfig, *, steps: int, warmup_steps: int,
                batch_size: int, learning_rate: float, weight_decay: float = 0.1,
                seed: int = 0) -> tuple[PlainGPT, float]:
    """Train for ``warmup_steps + steps`` steps; returns the model and the tokens/s of the
    timed ``steps`` (after the warm-up)."""
    torch.manual_seed(seed)
    model = PlainGPT(config)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "wte" not in n
             and "wpe" not in n]
    rest = [p for n, p in model.named_parameters() if not any(p is d for d in decay)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": rest, "weight_decay": 0.0}], lr=learning_rate)
    started = math.nan
    for step in range(warmup_steps + steps):
        if step == warmup_steps:
            started = time.perf_counter()
        x, y = get_batch(shard, batch_size, config.context_length)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss.item()  # nanoGPT's per-step log line
    elapsed = time.perf_counter() - started
    return model, steps * batch_size * config.context_length / elapsed
