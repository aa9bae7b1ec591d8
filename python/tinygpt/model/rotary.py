"""Rotary position embeddings (Su et al., RoFormer, 2021) for the attention's queries and keys.

Each head's vector is split into two halves whose pairs of coordinates are rotated by an angle
proportional to the position, so a query-key product depends on the distance between the two
positions, not on where they are. The halves layout (not interleaved pairs) is GPT-NeoX's, so
a rotary model exports to transformers as GPT-NeoX with the same numbers.
"""

from __future__ import annotations

import torch
from torch import nn

from tinygpt.model.config import ROTARY_BASE, GPTConfig


class RotaryPositions(nn.Module):
    """Rotates (batch, heads, positions, head_size) tensors by their positions' angles."""

    cos: torch.Tensor
    sin: torch.Tensor

    def __init__(self, config: GPTConfig):
        super().__init__()
        half = config.head_size // 2
        frequencies = ROTARY_BASE ** (-torch.arange(half, dtype=torch.float64) / half)
        angles = torch.outer(torch.arange(config.context_length, dtype=torch.float64), frequencies)
        # Not saved with the weights: they follow from the config.
        self.register_buffer("cos", angles.cos().float(), persistent=False)
        self.register_buffer("sin", angles.sin().float(), persistent=False)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """``x`` rotated as if its first position were ``start``."""
        steps = x.shape[-2]
        cos = self.cos[start : start + steps].to(x.dtype)
        sin = self.sin[start : start + steps].to(x.dtype)
        first, second = x.chunk(2, dim=-1)
        return torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)
