"""TokenLoader against nanoGPT's numpy-memmap sampling, and its share of a CPU training step.

Peer (nanoGPT's ``get_batch``): per batch, ``np.memmap`` the shard, draw ``torch.randint``
offsets, and ``torch.stack`` int64 copies of the slices for x and for y. Ours: ``TokenLoader``
over the same shard, ``sampling="stream"`` (the same window distribution) and ``"document"``.
Both serve (B, T) int64 tensors; rates are consumer-side batches/s, measured in the same run on
the same file. Quick mode: 5 M tokens, a few hundred batches; ``TINYGPT_BENCH_FULL=1``:
200 M tokens and 5,000 batches per measurement.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from baseline_train_loop import get_batch

from tinygpt.data import TokenLoader
from tinygpt.data.manifest import Manifest, ShardInfo, SplitInfo
from tinygpt.data.shards import write_shard

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
TOKENS = 200_000_000 if FULL else 5_000_000
BATCHES = 5000 if FULL else 300
VOCAB, EOT = 50257, 50256


def write_random_shard_dir(directory: Path, tokens: int, vocab_size: int) -> Path:
    """One train shard of random tokens in documents of ~TinyStories length (100-400 tokens)."""
    eot = vocab_size - 1
    rng = np.random.default_rng(0)
    data = rng.integers(0, eot, size=tokens, dtype=np.uint16)
    starts = np.cumsum(rng.integers(100, 400, size=tokens // 100))
    starts = starts[starts < tokens]
    data[0], data[starts] = eot, eot
    write_shard(directory / "train_000000.bin", data)
    info = SplitInfo()
    info.add_shard(ShardInfo("train_000000.bin", tokens, starts.size + 1, 0), starts.size + 1, 0)
    Manifest(directory, "bench", vocab_size, eot, "uint16", "tail", 0.0, {}, {"train": info}, complete=True).save()
    return directory


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory) -> Path:
    return write_random_shard_dir(tmp_path_factory.mktemp("shards"), TOKENS, VOCAB)


def batches_per_second(next_batch: Callable[[], object], count: int, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            next_batch()
        best = min(best, time.perf_counter() - start)
    return count / best


@pytest.mark.parametrize(
    "batch_size, context, sampling",
    # document windows of 1025 tokens would skip every TinyStories-length document
    [(64, 64, "stream"), (32, 1024, "stream"), (64, 64, "document")],
)
def test_loader_vs_nanogpt_memmap(benchmark, shard_dir, batch_size, context, sampling):
    loader = TokenLoader(shard_dir, batch_size, context, sampling=sampling, prefetch=4)
    next(loader)
    shard = shard_dir / "train_000000.bin"
    ours = batches_per_second(lambda: next(loader), BATCHES)
    peer = batches_per_second(lambda: get_batch(shard, batch_size, context), BATCHES)
    ratio = ours / peer
    benchmark.extra_info.update({"ours_batches_per_s": ours, "peer_batches_per_s": peer, "speed_ratio_vs_peer": ratio})
    print(
        f"\nloader {sampling} {batch_size}x{context}: ours {ours:,.0f} batches/s, "
        f"nanoGPT memmap {peer:,.0f} batches/s, ratio {ratio:.1f}x"
    )
    benchmark(lambda: next(loader))


def test_loader_share_of_a_cpu_training_step(benchmark, tmp_path):
    """gpt-rs's default model (2.1 M parameters, vocab 2048), batch 64 x 64, AdamW, on the CPU:
    time spent waiting for batches over the whole step time."""
    from tinygpt.model import GPT, GPTConfig

    config = GPTConfig()
    directory = write_random_shard_dir(tmp_path, 1_000_000, config.vocab_size)
    model = GPT(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4)
    loader = TokenLoader(directory, 64, config.context_length)

    def train_on(x: torch.Tensor, y: torch.Tensor) -> None:
        loss = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten(), ignore_index=-1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    steps = 20 if FULL else 2
    train_on(*next(loader))
    loading = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        before = time.perf_counter()
        batch = next(loader)
        loading += time.perf_counter() - before
        train_on(*batch)
    total = time.perf_counter() - start
    share = loading / total
    benchmark.extra_info.update({"loader_share_of_step": share, "step_s": total / steps})
    print(
        f"\nloader share of a CPU training step: {share:.3%} "
        f"(step {total / steps * 1e3:.0f} ms, waiting for the batch {loading / steps * 1e6:.0f} us)"
    )
    benchmark(lambda: next(loader))
