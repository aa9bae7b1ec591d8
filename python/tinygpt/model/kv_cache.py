"""The key/value cache that lets generation feed only the new token through the model."""

from __future__ import annotations

import torch

from tinygpt.model.config import GPTConfig


class KVCache:
    """Keys and values of the positions already fed, per layer, preallocated to the context.

    ``length`` positions are filled; a forward pass with the cache appends its tokens after them.
    """

    def __init__(self, config: GPTConfig, batch_size: int, *, device: torch.device, dtype: torch.dtype):
        shape = (batch_size, config.head_count, config.context_length, config.head_size)
        self._keys = [torch.empty(shape, device=device, dtype=dtype) for _ in range(config.block_count)]
        self._values = [torch.empty(shape, device=device, dtype=dtype) for _ in range(config.block_count)]
        self.capacity = config.context_length
        self.length = 0

    def append(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store this layer's new keys/values (B, H, T, D); return all of them so far."""
        steps = keys.shape[2]
        self._keys[layer].narrow(2, self.length, steps).copy_(keys)
        self._values[layer].narrow(2, self.length, steps).copy_(values)
        end = self.length + steps
        return self._keys[layer].narrow(2, 0, end), self._values[layer].narrow(2, 0, end)

    def advance(self, count: int) -> None:
        self.length += count

    def reset(self) -> None:
        self.length = 0
