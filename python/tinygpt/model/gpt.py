"""The gpt-rs decoder: a small pre-LN GPT with learned positions, written for speed.

The architecture is exactly gpt-rs's (token + learned position embeddings, embedding dropout,
pre-LN blocks whose residual stream itself goes through dropout, ReLU feed-forward, final
LayerNorm, bias-free head). It is computed efficiently: one fused q/k/v projection per block and
``scaled_dot_product_attention`` instead of one module per head. gpt-rs checkpoints (one
q/k/v linear per head) convert to and from this layout, see ``GPT.from_gptrs``.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable

import torch
import torch.nn as nn
from torch.nn import functional as F

from tinygpt.atomic import atomic_write
from tinygpt.errors import ConfigError, DataError
from tinygpt.model.config import GPTConfig
from tinygpt.model.kv_cache import KVCache
from tinygpt.model.decoding import TokenSampler, sample_tokens

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
        self.qkv = nn.Linear(config.embedding_size, 3 * config.embedding_size, bias=config.bias)
        self.projection = nn.Linear(config.embedding_size, config.embedding_size, bias=config.bias)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, last_only: bool = False
    ) -> torch.Tensor:
        """Attend over ``x`` (and the cache); ``last_only`` answers the final query alone."""
        batch, steps, width = x.shape
        q, k, v = (
            t.view(batch, steps, self.head_count, -1).transpose(1, 2)
            for t in self.qkv(x).split(width, dim=2)
        )
        past = 0 if cache is None else cache.length
        if cache is not None:
            k, v = cache.append(layer, k, v)
        if last_only:
            q = q[:, :, -1:]
        queries = q.shape[2]
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


class FeedForward(nn.Module):
    """linear -> ReLU (or GELU) -> linear -> dropout."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        hidden = config.hidden_size
        self.input = nn.Linear(config.embedding_size, hidden, bias=config.bias)
        self.activation = ACTIVATION_MODULES[config.activation]()
        self.output = nn.Linear(hidden, config.embedding_size, bias=config.bias)
        self.dropout = nn.Dropout(config.feed_forward_dropout)

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
        self.residual_dropout = nn.Dropout(config.residual_dropout)

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
        self.position_embedding = nn.Embedding(config.context_length, config.embedding_size)
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.block_count))
        self.layer_norm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_epsilon)
        self.linear_head = nn.Linear(config.embedding_size, config.vocab_size, bias=False)
        self.apply(_init_weights)
        if config.tie_weights:
            self.linear_head.weight = self.token_embedding.weight

    def forward(
        self, idx: torch.Tensor, *, cache: KVCache | None = None, last_only: bool = False
    ) -> torch.Tensor:
        """Logits (B, T, vocab) for token ids ``idx`` (B, T).

        With ``cache``, ``idx`` continues the cached positions and its keys/values are added to
        it; ``last_only`` computes only what the final position's logits need (T becomes 1):
        the last block's attention output, feed-forward and the head run for one position.
        """
        start = 0 if cache is None else cache.length
        steps = idx.shape[1]
        if start + steps > self.config.context_length:
            raise ValueError(
                f"{start + steps} positions exceed context_length {self.config.context_length}"
            )
        positions = torch.arange(start, start + steps, device=idx.device)
        x = self.embedding_dropout(self.token_embedding(idx) + self.position_embedding(positions))
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
    def use_decoding_layout(self) -> GPT:
        """Store every weight matrix transposed in memory; values, shapes and names stay the same.

        Token-by-token decoding multiplies one row by each matrix, and on the CPU that product
        reads a matrix kept as ``[in, out]`` about 1.6x faster than nn.Linear's ``[out, in]``
        (GPT-2's 50,257 x 768 head on one thread: 20 vs 33 ms), so generation switches to it.
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
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        if config.tie_weights:
            raise ConfigError("gpt-rs checkpoints have their own head matrix; use tie_weights=False")
        try:
            tensors = load_file(os.fspath(path))
        except (OSError, SafetensorError) as error:
            raise DataError(f"cannot read gpt-rs checkpoint {path}: {error}") from error
        model = cls(config)
        model.load_state_dict_checked(_from_gptrs_names(tensors, config, str(path)), source=str(path))
        return model

    def gptrs_state_dict(self) -> dict[str, torch.Tensor]:
        """Our weights under gpt-rs's names, q/k/v split per head (what gpt-rs loads)."""
        if self.config.activation != "relu":
            raise ConfigError("gpt-rs has only ReLU feed-forward layers; this model uses GELU")
        return _to_gptrs_names(self, self.config)

    def save_gptrs(self, path: str | os.PathLike[str]) -> None:
        """Write a gpt-rs-loadable ``.safetensors`` checkpoint atomically."""
        from safetensors.torch import save

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


_GPTRS_HEAD = re.compile(r"blocks\.(\d+)\.multi_attention_head\.heads\.(\d+)\.(query|key|value)\.(weight|bias)")
_QKV_ORDER = ("query", "key", "value")


def _gptrs_plain_name(ours: str) -> str:
    """Our name of every tensor that is not a fused q/k/v -> gpt-rs's name."""
    return "transformer." + ours.replace(".attention.projection.", ".multi_attention_head.projection.")


def _from_gptrs_names(tensors: dict[str, torch.Tensor], config: GPTConfig, source: str) -> dict[str, torch.Tensor]:
    """Rename gpt-rs tensors to ours and fuse each block's per-head q/k/v into one linear."""
    ours: dict[str, torch.Tensor] = {}
    heads: dict[tuple[int, str], dict[tuple[str, int], torch.Tensor]] = {}
    for name, tensor in tensors.items():
        if not name.startswith("transformer."):
            raise DataError(f"{source}: unexpected tensor {name!r} (gpt-rs names start with 'transformer.')")
        short = name[len("transformer.") :]
        head = _GPTRS_HEAD.fullmatch(short)
        if head:
            block, index, role, kind = head.groups()
            heads.setdefault((int(block), kind), {})[(role, int(index))] = tensor
        else:
            ours[short.replace(".multi_attention_head.projection.", ".attention.projection.")] = tensor
    for (block, kind), parts in heads.items():
        wanted = [(role, h) for role in _QKV_ORDER for h in range(config.head_count)]
        absent = [f"heads.{h}.{role}" for role, h in wanted if (role, h) not in parts]
        extra = sorted(f"heads.{h}.{role}" for role, h in set(parts) - set(wanted))
        if absent or extra:
            raise DataError(
                f"{source}: block {block} {kind}: expected {config.head_count} heads of query/key/value"
                + (f"; missing {', '.join(absent)}" if absent else "")
                + (f"; unexpected {', '.join(extra)}" if extra else "")
            )
        ours[f"blocks.{block}.attention.qkv.{kind}"] = torch.cat([parts[key] for key in wanted], dim=0)
    return ours


def _to_gptrs_names(model: GPT, config: GPTConfig) -> dict[str, torch.Tensor]:
    """Split each fused q/k/v into per-head linears under gpt-rs's names.

    A bias-free model exports zero biases, which gpt-rs expects and which compute the same.
    """
    state = {name: tensor.detach().clone(memory_format=torch.contiguous_format)
             for name, tensor in model.state_dict().items()}
    if not config.bias:
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear) and module is not model.linear_head:
                state[f"{name}.bias"] = torch.zeros(module.out_features, dtype=module.weight.dtype)
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        fused = re.fullmatch(r"blocks\.(\d+)\.attention\.qkv\.(weight|bias)", name)
        if fused is None:
            out[_gptrs_plain_name(name)] = tensor
            continue
        block, kind = fused.groups()
        for role, part in zip(_QKV_ORDER, tensor.chunk(3, dim=0)):
            for head, piece in enumerate(part.chunk(config.head_count, dim=0)):
                out[f"transformer.blocks.{block}.multi_attention_head.heads.{head}.{role}.{kind}"] = (
                    piece.contiguous()
                )
    return out
