"""The gpt-rs decoder: a small pre-LN GPT with learned (or rotary) positions, written for speed.

The architecture is exactly gpt-rs's (token + learned position embeddings, embedding dropout,
pre-LN blocks whose residual stream itself goes through dropout, ReLU feed-forward, final
LayerNorm, bias-free head). It is computed efficiently: one fused q/k/v projection per block and
``scaled_dot_product_attention`` instead of one module per head. gpt-rs checkpoints (one
q/k/v linear per head) convert to and from this layout, see ``GPT.from_gptrs``.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch.nn import functional as F

from tinygpt.atomic import atomic_write
from tinygpt.errors import ConfigError, DataError
from tinygpt.gptrs.checkpoint import from_gptrs_names, to_gptrs_names
from tinygpt.model.config import GPTConfig
from tinygpt.model.decoding import TokenSampler, sample_tokens
from tinygpt.model.dropout import Dropout, dropout
from tinygpt.model.kv_cache import KVCache
from tinygpt.model.linear import Linear
from tinygpt.model.rotary import RotaryPositions

# Query positions up to which bf16 CPU training attention is written out (see _write_out_attention).
WRITTEN_OUT_BF16_MAX_STEPS = 128
ACTIVATION_MODULES: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
}


class CausalSelfAttention(nn.Module):
    """All heads at once: one q/k/v projection, fused attention, then the output projection."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.head_count = config.head_count
        self.attention_dropout = config.attention_dropout
        self.qkv = Linear(config.embedding_size, 3 * config.embedding_size, bias=config.bias)
        self.projection = Linear(config.embedding_size, config.embedding_size, bias=config.bias)
        self.rotary = RotaryPositions(config) if config.positions == "rotary" else None

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, last_only: bool = False
    ) -> torch.Tensor:
        """Attend over ``x`` (and the cache); ``last_only`` answers the final query alone."""
        batch, steps, width = x.shape
        q, k, v = (t.view(batch, steps, self.head_count, -1).transpose(1, 2) for t in self.qkv(x).split(width, dim=2))
        past = 0 if cache is None else cache.length
        if self.rotary is not None:
            q, k = self.rotary(q, past), self.rotary(k, past)
        if cache is not None:
            k, v = cache.append(layer, k, v)
        if last_only:
            q = q[:, :, -1:]
        queries = q.shape[2]
        if (
            self.training
            and cache is None
            and x.device.type == "cpu"
            and _write_out_attention(q, self.attention_dropout)
        ):
            y = _causal_attention_written_out(q, k, v, self.attention_dropout)
            return self.projection(y.transpose(1, 2).reshape(batch, queries, width))
        mask = None
        if past and queries > 1:
            # New queries see every cached position and the causal part of their own block.
            mask = torch.ones(steps, past + steps, dtype=torch.bool, device=x.device).tril(past)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            dropout_p=self.attention_dropout if self.training else 0.0,
            is_causal=past == 0 and queries > 1,
        )
        return self.projection(y.transpose(1, 2).reshape(batch, queries, width))


def _write_out_attention(q: torch.Tensor, dropout_p: float) -> bool:
    """Whether CPU training attention is cheaper written out than by ``scaled_dot_product_attention``:
    with dropout (no fused CPU kernel drops out; the math path's mask is dearer than ours), and
    in bf16 up to ``WRITTEN_OUT_BF16_MAX_STEPS`` positions, where the fused kernel's backward
    pass costs 2-4 times the written-out forward and backward together (measured on 2 threads,
    AVX512-BF16: 5.2 against 1.0 ms at budget mode's 16 x 4 heads x 64 x 32; at 256 positions
    the two are even, at 512 the fused kernel wins). In float32 the fused kernel is faster."""
    return dropout_p > 0 or (q.dtype == torch.bfloat16 and q.shape[2] <= WRITTEN_OUT_BF16_MAX_STEPS)


def _causal_attention_written_out(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
    """What ``scaled_dot_product_attention`` computes on the CPU by its math path, dropping out
    with the cheaper mask (``p`` > 0) and skipping the math path's safe-softmax checks (every
    causal row has a position to attend to)."""
    steps = q.shape[2]
    scores = (q * (1.0 / math.sqrt(q.shape[-1]))) @ k.transpose(-2, -1)  # scaling q is the smaller pass
    future = torch.ones(steps, steps, dtype=torch.bool, device=q.device).triu(1)
    weights = dropout(scores.masked_fill(future, float("-inf")).softmax(dim=-1), p, training=True)
    return weights @ v


class FeedForward(nn.Module):
    """linear -> ReLU (or GELU) -> linear -> dropout."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        hidden = config.hidden_size
        self.input = Linear(config.embedding_size, hidden, bias=config.bias)
        self.activation = ACTIVATION_MODULES[config.activation]()
        self.output = Linear(hidden, config.embedding_size, bias=config.bias)
        self.dropout = Dropout(config.feed_forward_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.output(self.activation(self.input(x))))


class Block(nn.Module):
    """Pre-LN block as in gpt-rs: dropout acts on the residual stream, not on the branch."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.layer_norm_1 = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_epsilon)
        self.attention = CausalSelfAttention(config)
        self.layer_norm_2 = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_epsilon)
        self.feed_forward = FeedForward(config)
        self.residual_dropout = Dropout(config.residual_dropout)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, last_only: bool = False
    ) -> torch.Tensor:
        """``last_only``: every position feeds the keys/values, only the last one comes out."""
        attended = self.attention(self.layer_norm_1(x), cache, layer, last_only)
        if last_only:
            x = x[:, -1:]
        x = self.residual_dropout(x) + attended
        return self.residual_dropout(x) + self.feed_forward(self.layer_norm_2(x))


class GPT(nn.Module):
    """Decoder-only transformer; ``forward(idx)`` gives next-token logits for every position.

    >>> model = GPT(GPTConfig())  # gpt-rs's shape
    >>> sum(p.numel() for p in model.parameters())
    2118912
    >>> model(torch.zeros(1, 5, dtype=torch.long)).shape
    torch.Size([1, 5, 2048])
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.position_embedding = (
            nn.Embedding(config.context_length, config.embedding_size) if config.positions == "learned" else None
        )
        self.embedding_dropout = Dropout(config.embedding_dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.block_count))
        self.layer_norm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_epsilon)
        self.linear_head = Linear(config.embedding_size, config.vocab_size, bias=False)
        self.apply(_init_weights)
        if config.tie_weights:
            self.linear_head.weight = self.token_embedding.weight

    def forward(self, idx: torch.Tensor, *, cache: KVCache | None = None, last_only: bool = False) -> torch.Tensor:
        """Logits (B, T, vocab) for token ids ``idx`` (B, T).

        With ``cache``, ``idx`` continues the cached positions and its keys/values are added to
        it; ``last_only`` computes only what the final position's logits need (T becomes 1):
        the last block's attention output, feed-forward and the head run for one position.
        """
        start = 0 if cache is None else cache.length
        steps = idx.shape[1]
        if start + steps > self.config.context_length:
            raise ValueError(f"{start + steps} positions exceed context_length {self.config.context_length}")
        x = self.token_embedding(idx)
        if self.position_embedding is not None:
            x = x + self.position_embedding(torch.arange(start, start + steps, device=idx.device))
        x = self.embedding_dropout(x)
        last_layer = len(self.blocks) - 1
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer, last_only and layer == last_layer)
        if cache is not None:
            cache.advance(steps)
        return self.linear_head(self.layer_norm(x))

    def num_parameters(self) -> int:
        """Trainable parameters, a tied matrix counted once (gpt-rs's default config: 2,118,912)."""
        return sum(p.numel() for p in self.parameters())

    @torch.no_grad()
    def zero_output_projections(self) -> None:
        """Start every block as the identity: its attention and feed-forward output matrices at
        zero. They still learn from the first step (their gradient is the branch's input times
        the incoming gradient), and the residual stream starts as clean embeddings. Budget mode
        starts so: with rotary positions it won 0.011-0.014 bits per byte on the TinyStories
        sample at the four-minute scale (benches/sweep_recipe.py)."""
        for module in self.modules():
            if isinstance(module, CausalSelfAttention):
                module.projection.weight.zero_()
            elif isinstance(module, FeedForward):
                module.output.weight.zero_()

    @torch.no_grad()
    def use_decoding_layout(self) -> GPT:
        """Store every weight matrix transposed in memory; values, shapes and names stay the same.

        Token-by-token decoding multiplies one row by each matrix, and that product is as fast
        as the matrix is read from memory. Kept ``[in, out]``, a matrix is read front to back by
        ``tinygpt._matvec`` (see ``tinygpt.model.linear``), about 2x the rate of torch's product
        in nn.Linear's ``[out, in]`` on one thread, so generation switches to it.
        safetensors stores row-major tensors only: save ``.contiguous()`` copies afterwards.
        """
        matrices = {id(m.weight): m.weight for m in self.modules() if isinstance(m, (nn.Linear, nn.Embedding))}
        for weight in matrices.values():
            weight.data = weight.data.t().contiguous().t()
        return self

    def optimizer_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """AdamW parameter groups: decay on linear weights only, decided by module type.

        Biases, LayerNorm and embeddings are not decayed; a tied head counts as an embedding.
        """
        embedding_weights = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        decayed = {
            id(m.weight): m.weight
            for m in self.modules()
            if isinstance(m, nn.Linear) and id(m.weight) not in embedding_weights
        }
        rest = [p for p in self.parameters() if id(p) not in decayed]
        return [
            {"params": list(decayed.values()), "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ]

    @torch.inference_mode()
    def generate(
        self,
        x: torch.Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 0.7,
        top_k: int | None = None,
        top_p: float | None = None,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend ``x`` (B, T) by ``max_new_tokens`` sampled ids: (B, T + max_new_tokens).

        Uses a KV cache and, like gpt-rs, conditions on the last ``context_length`` tokens.
        """
        sampler = TokenSampler(temperature=temperature, top_k=top_k, top_p=top_p, greedy=greedy)
        steps = list(sample_tokens(self, x, max_new_tokens, sampler, generator=generator))
        return torch.cat([x, *(step[:, None] for step in steps)], dim=1)

    @classmethod
    def from_gptrs(cls, path: str | os.PathLike[str], config: GPTConfig) -> GPT:
        """Load a gpt-rs ``.safetensors`` checkpoint (one q/k/v linear per head) into our layout."""
        if config.tie_weights:
            raise ConfigError("gpt-rs checkpoints have their own head matrix; use tie_weights=False")
        if config.positions != "learned":
            raise ConfigError("gpt-rs checkpoints have a learned position table; use positions='learned'")
        try:
            tensors = load_file(os.fspath(path))
        except (OSError, SafetensorError) as error:
            raise DataError(f"cannot read gpt-rs checkpoint {path}: {error}") from error
        model = cls(config)
        state = from_gptrs_names(tensors, config.head_count, str(path))
        model.load_state_dict_checked(state, source=str(path))
        return model

    def gptrs_state_dict(self) -> dict[str, torch.Tensor]:
        """Our weights under gpt-rs's names, q/k/v split per head (what gpt-rs loads)."""
        if self.config.activation != "relu":
            raise ConfigError("gpt-rs has only ReLU feed-forward layers; this model uses GELU")
        if self.config.positions != "learned":
            raise ConfigError(f"gpt-rs has only learned positions; this model uses {self.config.positions} positions")
        state = {
            name: tensor.detach().clone(memory_format=torch.contiguous_format)
            for name, tensor in self.state_dict().items()
        }
        if not self.config.bias:
            # gpt-rs expects biases; zeros compute the same as none.
            for name, module in self.named_modules():
                if isinstance(module, nn.Linear) and module is not self.linear_head:
                    state[f"{name}.bias"] = torch.zeros(module.out_features, dtype=module.weight.dtype)
        return to_gptrs_names(state, self.config.head_count)

    def save_gptrs(self, path: str | os.PathLike[str]) -> None:
        """Write a gpt-rs-loadable ``.safetensors`` checkpoint atomically."""
        with atomic_write(path) as handle:
            handle.write(save(self.gptrs_state_dict()))

    def load_state_dict_checked(self, state: dict[str, torch.Tensor], *, source: str) -> None:
        """``load_state_dict`` with a DataError naming the file and the offending tensors."""
        expected = self.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        wrong_shape = [
            f"{name} {tuple(state[name].shape)} (expected {tuple(expected[name].shape)})"
            for name in sorted(set(state) & set(expected))
            if state[name].shape != expected[name].shape
        ]
        problems = [
            f"{label}: {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}"
            for label, names in (
                ("missing tensors", missing),
                ("unexpected tensors", unexpected),
                ("wrong shapes", wrong_shape),
            )
            if names
        ]
        if problems:
            raise DataError(f"{source} does not match the model config: {'; '.join(problems)}")
        self.load_state_dict(state)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
