"""The peer of the training benchmark: a plain eager float32 PyTorch loop, nanoGPT style.

The model is gpt-rs's architecture written the way nanoGPT's model.py writes a GPT (fused q/k/v
linear, ``scaled_dot_product_attention``, the original's five dropouts); the loop is nanoGPT's
train.py on a CPU: ``np.memmap`` batches of random windows, float32, ``torch.optim.AdamW`` with
its defaults (foreach), gradient clipping, and ``loss.item()`` every step for the log line.
Nothing here comes from tinygpt, so the comparison is against plain PyTorch.

``nanogpt_cpu_recipe`` is the recipe nanoGPT's README gives for a CPU (4 layers, 4 heads, width
128, context 64, batch 12, no dropout, AdamW at 1e-3 with betas (0.9, 0.99), 100 warm-up steps
and a cosine to 1e-4, weight decay 0.1, clipping at 1) with nanoGPT's model choices (GELU, no
biases, the head tied to the token embedding), run for a wall-clock budget: the cosine spans
the steps that fit, measured over the warm-up, which a user would otherwise guess.

``python baseline_train_loop.py SHARD WEIGHTS --config JSON ...`` runs ``plain_train`` in a
process of its own, as a user runs such a script, saves the weights and prints the tokens/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Callable
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
    gelu: bool = False
    bias: bool = True
    tie_weights: bool = False


class PlainAttention(nn.Module):
    def __init__(self, c: PlainConfig) -> None:
        super().__init__()
        self.c_attn = nn.Linear(c.embedding_size, 3 * c.embedding_size, bias=c.bias)
        self.c_proj = nn.Linear(c.embedding_size, c.embedding_size, bias=c.bias)
        self.heads, self.dropout = c.head_count, c.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, width = x.shape
        q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in self.c_attn(x).split(width, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, width))


class PlainBlock(nn.Module):
    def __init__(self, c: PlainConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.embedding_size, bias=c.bias)
        self.ln_2 = nn.LayerNorm(c.embedding_size, bias=c.bias)
        self.attn = PlainAttention(c)
        hidden = c.feed_forward_multiplier * c.embedding_size
        self.mlp = nn.Sequential(
            nn.Linear(c.embedding_size, hidden, bias=c.bias),
            nn.GELU() if c.gelu else nn.ReLU(),
            nn.Linear(hidden, c.embedding_size, bias=c.bias),
            nn.Dropout(c.dropout),
        )
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
        self.ln_f = nn.LayerNorm(c.embedding_size, bias=c.bias)
        self.lm_head = nn.Linear(c.embedding_size, c.vocab_size, bias=False)
        for module in self.modules():  # nanoGPT's init (gpt-rs's for the linears)
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        if c.tie_weights:
            self.lm_head.weight = self.wte.weight

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
    x = torch.stack([torch.from_numpy(data[i : i + block_size].astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy(data[i + 1 : i + 1 + block_size].astype(np.int64)) for i in ix])
    return x, y


def plain_step(model: PlainGPT, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    """nanoGPT's step: forward, loss, backward, clipping at 1, update, and the loss read back
    for the per-step log line."""
    logits = model(x)
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    loss.item()


def plain_train(
    shard: Path,
    config: PlainConfig,
    *,
    steps: int,
    warmup_steps: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float = 0.1,
    seed: int = 0,
) -> tuple[PlainGPT, float]:
    """Train for ``warmup_steps + steps`` steps; returns the model and the tokens/s of the
    timed ``steps`` (after the warm-up)."""
    torch.manual_seed(seed)
    model = PlainGPT(config)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "wte" not in n and "wpe" not in n]
    rest = [p for n, p in model.named_parameters() if not any(p is d for d in decay)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}], lr=learning_rate
    )
    started = math.nan
    for step in range(warmup_steps + steps):
        if step == warmup_steps:
            started = time.perf_counter()
        plain_step(model, optimizer, *get_batch(shard, batch_size, config.context_length))
    elapsed = time.perf_counter() - started
    return model, steps * batch_size * config.context_length / elapsed


NANOGPT_CPU = {
    "block_count": 4,
    "head_count": 4,
    "embedding_size": 128,
    "context_length": 64,
    "feed_forward_multiplier": 4,
    "dropout": 0.0,
    "gelu": True,
    "bias": False,
    "tie_weights": True,
}


def nanogpt_cpu_recipe(
    shard: Path,
    vocab_size: int,
    *,
    seconds: float,
    seed: int = 0,
    batch_size: int = 12,
    warmup_steps: int = 100,
    learning_rate: float = 1e-3,
    min_learning_rate: float = 1e-4,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[PlainGPT, int]:
    """nanoGPT's CPU recipe for ``seconds`` of ``clock`` (wall clock by default); returns the
    model and its steps."""
    torch.manual_seed(seed)
    config = PlainConfig(vocab_size=vocab_size, **NANOGPT_CPU)
    model = PlainGPT(config)
    decay = [p for p in model.parameters() if p.dim() >= 2]  # nanoGPT's rule
    rest = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
        lr=learning_rate,
        betas=(0.9, 0.99),
    )
    started = clock()
    decay_steps = math.inf  # known once the warm-up has been timed
    step = 0
    while clock() - started < seconds:
        if step == warmup_steps:
            per_step = (clock() - started) / warmup_steps
            decay_steps = warmup_steps + (seconds - (clock() - started)) / per_step
        if step < warmup_steps:
            lr = learning_rate * (step + 1) / (warmup_steps + 1)
        else:
            progress = min(1.0, (step - warmup_steps) / max(1.0, decay_steps - warmup_steps))
            lr = min_learning_rate + 0.5 * (1 + math.cos(math.pi * progress)) * (learning_rate - min_learning_rate)
        for group in optimizer.param_groups:
            group["lr"] = lr
        plain_step(model, optimizer, *get_batch(shard, batch_size, config.context_length))
        step += 1
    return model, step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="plain_train in a process of its own")
    parser.add_argument("shard", type=Path)
    parser.add_argument("weights", type=Path, help="where to torch.save the trained state dict")
    parser.add_argument("--config", required=True, help="PlainConfig's fields as a JSON object")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--warmup-steps", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--learning-rate", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, tokens_per_second = plain_train(
        args.shard,
        PlainConfig(**json.loads(args.config)),
        steps=args.steps,
        warmup_steps=args.warmup_steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    torch.save(model.state_dict(), args.weights)
    print(json.dumps({"tokens_per_second": tokens_per_second}))


def plain_config_json(config: PlainConfig) -> str:
    """``config`` as ``main``'s ``--config`` takes it."""
    return json.dumps(dataclasses.asdict(config))


if __name__ == "__main__":
    main()
