"""Sampling from a GPT with a KV cache, exactly as gpt-rs's recompute-everything loop would.

gpt-rs feeds the last ``context_length`` tokens through the model for every new token, each at
position 0..n-1 of that window. While the text fits in the context, a token's keys and values never
change, so we cache them and feed only the new token. Once the text outgrows the context, the
window slides by one every step, every token moves to a new absolute position, and every cached
key/value is stale; the only exact answer is to rebuild the whole window each step (one batched
forward of ``context_length`` tokens, the head applied to the last position only). Keeping a
shorter window and re-filling it every k steps would be cheaper but would condition on fewer
tokens than gpt-rs does, so greedy decoding would no longer match it; we do not do that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Collection, Generator, Iterator, Protocol

import torch
from torch import nn

from tinygpt.errors import ConfigError
from tinygpt.model.config import GPTConfig
from tinygpt.model.kv_cache import KVCache


class CausalModel(Protocol):
    """What decoding needs of a model (``GPT`` is one); a Protocol so ``GPT.generate`` can use
    this module without the module importing ``GPT`` back."""

    config: GPTConfig
    training: bool

    def __call__(self, idx: torch.Tensor, *, cache: KVCache | None = None, last_only: bool = False) -> torch.Tensor: ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...

    def eval(self) -> nn.Module: ...

    def train(self, mode: bool = True) -> nn.Module: ...


@dataclass(frozen=True)
class TokenSampler:
    """How the next token is chosen from the logits; gpt-rs's default is temperature 0.7."""

    temperature: float = 0.7
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False

    def __post_init__(self) -> None:
        if not (
            isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature) and self.temperature > 0
        ):
            raise ConfigError(f"temperature must be a number > 0, got {self.temperature!r}")
        if self.top_k is not None and (
            isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1
        ):
            raise ConfigError(f"top_k must be an integer >= 1, got {self.top_k!r}")
        if self.top_p is not None and not (isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1):
            raise ConfigError(f"top_p must be a number in (0, 1], got {self.top_p!r}")

    def choose(self, logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Next ids (B,) from logits (B, vocab)."""
        if self.greedy:
            return logits.argmax(dim=-1)
        # Shift so the best logit is 0: a tiny temperature then gives -inf, never inf - inf = NaN.
        logits = logits.float()
        logits = (logits - logits.amax(dim=-1, keepdim=True)) / self.temperature
        if self.top_k is not None and self.top_k < logits.shape[-1]:
            kth_best = logits.topk(self.top_k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth_best, -math.inf)
        probs = torch.softmax(logits, dim=-1)
        if self.top_p is not None and self.top_p < 1:
            probs = _nucleus(probs, self.top_p)
        return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose mass reaches ``top_p`` (at least one)."""
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
    return torch.zeros_like(probs).scatter(-1, order, sorted_probs)


class WindowedDecoder:
    """Next-token logits for a growing sequence, conditioned on its last ``context_length`` ids.

    Only that window is kept, so a long generation costs the same per token throughout.
    """

    def __init__(self, model: CausalModel, batch_size: int, device: torch.device):
        self.model = model
        self.context_length = model.config.context_length
        dtype = next(model.parameters()).dtype
        self.cache = KVCache(model.config, batch_size, device=device, dtype=dtype)
        self.window = torch.empty(batch_size, 0, dtype=torch.long, device=device)
        self.slid = False

    def append(self, new: torch.Tensor) -> torch.Tensor:
        """Add ids ``new`` (B, k); return the logits (B, vocab) for the token after them."""
        self.window = torch.cat([self.window, new], dim=1)
        if self.window.shape[1] > self.context_length:
            self.window = self.window[:, -self.context_length :]
            self.slid = True
        if self.slid:
            # Every position changed, so nothing cached is valid (module doc): rebuild the window.
            return self.model(self.window, last_only=True)[:, -1]
        return self.model(new, cache=self.cache, last_only=True)[:, -1]


@torch.inference_mode()
def sample_tokens(
    model: CausalModel,
    prompt: torch.Tensor,
    max_new_tokens: int,
    sampler: TokenSampler = TokenSampler(),
    *,
    generator: torch.Generator | None = None,
    stop_ids: Collection[int] = (),
) -> Generator[torch.Tensor, None, None]:
    """Yield the next ids (B,) of every row, one step at a time, for up to ``max_new_tokens`` steps.

    Stops early once every row has produced one of ``stop_ids`` (rows that stopped keep
    receiving tokens until then; callers cut them). The model is put in eval mode meanwhile.
    """
    if prompt.dim() != 2 or prompt.shape[1] == 0:
        raise ConfigError(f"prompt must be a non-empty (batch, tokens) tensor, got shape {tuple(prompt.shape)}")
    if max_new_tokens < 0:
        raise ConfigError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    was_training = model.training
    model.eval()
    try:
        decoder = WindowedDecoder(model, prompt.shape[0], prompt.device)
        stops = torch.tensor(sorted(stop_ids), dtype=torch.long, device=prompt.device)
        finished = torch.zeros(prompt.shape[0], dtype=torch.bool, device=prompt.device)
        logits = decoder.append(prompt.long())
        for step in range(max_new_tokens):
            chosen = sampler.choose(logits, generator)
            yield chosen
            if len(stops):
                finished |= torch.isin(chosen, stops)
                if bool(finished.all()):
                    return
            if step + 1 < max_new_tokens:
                logits = decoder.append(chosen[:, None])
    finally:
        model.train(was_training)
