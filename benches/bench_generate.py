"""Generation speed: tinygpt's KV-cache sampler against gpt-rs's way of sampling.

The peer is the original loop: every token, pad the last ``context_length`` tokens to a full
context, run the whole model with one module per attention head
(tests/reference/gptrs_model.py, the same oracle the model tests use) and read the logits at
the last real position. Both models hold the same (random) weights; each benchmark checks that
greedy decoding gives identical tokens before it reports a ratio. Timings are the best of a few repeats, peer and ours interleaved, so
noise from other processes on the machine hits both.

Quick mode (``--benchmark-disable``, CI) shortens the runs; ``TINYGPT_BENCH_FULL=1`` runs the
figures of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import time
from typing import Callable

import pytest
import torch

from tests.reference.gptrs_model import GptRsModel
from tinygpt.model import GPT, GPTConfig
from tinygpt.model.decoding import TokenSampler, sample_tokens

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
REPEATS = 3 if FULL else 1


@pytest.fixture(autouse=True, scope="module")
def pinned_threads():
    """Both sides run with the same intra-op thread count: TINYGPT_BENCH_THREADS when set, and
    one thread in quick mode, where OpenMP threads waiting for a busy core made single short
    runs take minutes. Restored afterwards, so no other test module inherits it."""
    threads = os.environ.get("TINYGPT_BENCH_THREADS") or (None if FULL else "1")
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    yield
    torch.set_num_threads(before)


@torch.no_grad()
def gptrs_generate(model: GptRsModel, prompt: list[int], count: int) -> list[int]:
    """gpt-rs's greedy loop: recompute the padded full context for every new token."""
    context = model.config.context_length
    tokens = list(prompt)
    for _ in range(count):
        window = tokens[-context:]
        padded = torch.zeros(1, context, dtype=torch.long)
        padded[0, : len(window)] = torch.tensor(window)
        logits = model(padded)[0, len(window) - 1]
        tokens.append(int(logits.argmax()))
    return tokens[len(prompt) :]


def tinygpt_generate(model: GPT, prompt: list[int], count: int) -> list[int]:
    steps = sample_tokens(model, torch.tensor([prompt]), count, TokenSampler(greedy=True))
    return [int(step[0]) for step in steps]


def twin_models(config: GPTConfig) -> tuple[GptRsModel, GPT]:
    """Our model with its default init and the per-head reference holding the same weights."""
    torch.manual_seed(0)
    ours = GPT(config).eval()
    peer = GptRsModel(config).eval()
    peer.load_state_dict(ours.gptrs_state_dict())
    return peer, ours


def best_time(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def compare(benchmark, peer_run: Callable[[], list[int]], ours_run: Callable[[], list[int]], count: int) -> float:
    """Check exactness, time both interleaved (best of REPEATS), record and return the speed-up."""
    assert ours_run() == peer_run(), "greedy tokens differ from gpt-rs's loop"
    peer_seconds, ours_seconds = float("inf"), float("inf")
    for _ in range(REPEATS):
        peer_seconds = min(peer_seconds, best_time(peer_run))
        ours_seconds = min(ours_seconds, best_time(ours_run))
    benchmark.pedantic(ours_run, rounds=1, iterations=1)
    ratio = peer_seconds / ours_seconds
    benchmark.extra_info.update(
        tokens=count,
        threads=torch.get_num_threads(),
        gptrs_tokens_per_s=round(count / peer_seconds, 1),
        tinygpt_tokens_per_s=round(count / ours_seconds, 1),
        speedup=round(ratio, 2),
    )
    print(
        f"\n{count} tokens, {torch.get_num_threads()} thread(s): gpt-rs loop {count / peer_seconds:.0f} tok/s, "
        f"tinygpt {count / ours_seconds:.0f} tok/s, speed-up {ratio:.2f}x"
    )
    return ratio


def test_original_config_256_tokens(benchmark):
    """gpt-rs's 2.1 M config, 256 tokens from a one-token prompt: the text outgrows context 64."""
    peer, ours = twin_models(GPTConfig())
    count = 256 if FULL else 96
    compare(benchmark, lambda: gptrs_generate(peer, [1], count), lambda: tinygpt_generate(ours, [1], count), count)


def test_context_512_256_tokens_inside_the_context(benchmark):
    """Context 512, 256 new tokens that stay inside it: the cache avoids all recomputation."""
    peer, ours = twin_models(GPTConfig(context_length=512))
    count = 256 if FULL else 24
    compare(benchmark, lambda: gptrs_generate(peer, [1], count), lambda: tinygpt_generate(ours, [1], count), count)


def test_time_to_first_token(benchmark):
    """Latency before the first token appears for a 24-token prompt (what a REPL user waits)."""
    peer, ours = twin_models(GPTConfig())
    prompt = list(range(5, 29))
    peer_seconds = min(best_time(lambda: gptrs_generate(peer, prompt, 1)) for _ in range(5))
    ours_seconds = min(best_time(lambda: tinygpt_generate(ours, prompt, 1)) for _ in range(5))
    benchmark.pedantic(lambda: tinygpt_generate(ours, prompt, 1), rounds=1, iterations=1)
    benchmark.extra_info.update(
        gptrs_ms=round(peer_seconds * 1e3, 2),
        tinygpt_ms=round(ours_seconds * 1e3, 2),
        speedup=round(peer_seconds / ours_seconds, 2),
    )
    print(f"\ntime to first token: gpt-rs loop {peer_seconds * 1e3:.2f} ms, tinygpt {ours_seconds * 1e3:.2f} ms")
