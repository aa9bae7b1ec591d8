"""gpt-rs's transformer written the straightforward way: one module per attention head.

This is the oracle the fused ``tinygpt.model.GPT`` is checked against, and the peer of the
generation benchmark. Its module names are gpt-rs's, so its ``state_dict()`` is a gpt-rs
checkpoint (the names DESIGN.md §1 lists).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn import functional as F

from tinygpt.model import GPTConfig


class Head(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.query = nn.Linear(config.embedding_size, config.head_size)
        self.key = nn.Linear(config.embedding_size, config.head_size)
        self.value = nn.Linear(config.embedding_size, config.head_size)
        self.dropout = nn.Dropout(config.attention_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = x.shape[1]
        q, k, v = self.query(x), self.key(x), self.value(x)
        weights = q @ k.transpose(-2, -1) / math.sqrt(k.shape[-1])
        future = torch.ones(steps, steps, dtype=torch.bool, device=x.device).triu(1)
        weights = self.dropout(torch.softmax(weights.masked_fill(future, -math.inf), dim=-1))
        return weights @ v


class MultiAttentionHead(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.heads = nn.ModuleList(Head(config) for _ in range(config.head_count))
        self.projection = nn.Linear(config.embedding_size, config.embedding_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(torch.cat([head(x) for head in self.heads], dim=-1))


class FeedForward(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        hidden = config.feed_forward_multiplier * config.embedding_size
        self.input = nn.Linear(config.embedding_size, hidden)
        self.output = nn.Linear(hidden, config.embedding_size)
        self.dropout = nn.Dropout(config.feed_forward_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.output(F.relu(self.input(x))))


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.layer_norm_1 = nn.LayerNorm(config.embedding_size)
        self.multi_attention_head = MultiAttentionHead(config)
        self.layer_norm_2 = nn.LayerNorm(config.embedding_size)
        self.feed_forward = FeedForward(config)
        self.residual_dropout_1 = nn.Dropout(config.residual_dropout)
        self.residual_dropout_2 = nn.Dropout(config.residual_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.residual_dropout_1(x) + self.multi_attention_head(self.layer_norm_1(x))
        return self.residual_dropout_2(x) + self.feed_forward(self.layer_norm_2(x))


class Transformer(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.position_embedding = nn.Embedding(config.context_length, config.embedding_size)
        self.dropout = nn.Dropout(config.embedding_dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.block_count))
        self.layer_norm = nn.LayerNorm(config.embedding_size)
        self.linear_head = nn.Linear(config.embedding_size, config.vocab_size, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.dropout(self.token_embedding(idx) + self.position_embedding(positions))
        for block in self.blocks:
            x = block(x)
        return self.linear_head(self.layer_norm(x))


class GptRsModel(nn.Module):
    """Wraps the transformer so parameter names start with ``transformer.`` as in gpt-rs."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = Transformer(config)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.transformer(idx)


def randomize(model: nn.Module, seed: int = 0) -> None:
    """Give every parameter (biases and LayerNorms included) distinct random values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
