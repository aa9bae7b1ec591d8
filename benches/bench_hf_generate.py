"""Greedy generation of GPT-2-shaped models: tinygpt against transformers' own ``generate``.

transformers creates a GPT-2-small-shaped model (768 wide, 12 heads, 50,257 tokens, random
weights) and saves it with ``save_pretrained``; tinygpt imports that directory (tinygpt.hf) and
decodes as ``tinygpt generate`` does (KV cache, decoding weight layout). transformers runs
``model.generate`` with its cache and ``do_sample=False``. Both sides run on the same CPU thread
count, interleaved, best of a few rounds, and must produce identical tokens before a ratio is
reported. The ratio is of wall-clock time (``time.perf_counter``), the best round of each side:
run it under the exclusive measurement lock, on an otherwise quiet machine; the CPU-time rates
(``time.process_time``) are printed beside it, as a check that the wall clock measured work, not
waiting for a core.

Quick mode (``--benchmark-disable``, CI): 2 layers, 8 tokens. ``TINYGPT_BENCH_FULL=1``: 6 and 12
layers, 128 tokens, best of 5, the figures of docs/benchmarks.md (target: 1.5x, recorded with
each result).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tinygpt.hf.load import load_hf_network

transformers = pytest.importorskip("transformers", reason="transformers (dev extra) is the peer")

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
ROUNDS = 5 if FULL else 1
NEW_TOKENS = 128 if FULL else 8
TARGET = 1.5
PROMPT = [464, 3797, 3332, 319, 262, 2603, 290, 257]


@pytest.fixture(autouse=True, scope="module")
def pinned_threads():
    """One intra-op thread for both sides (TINYGPT_BENCH_THREADS to change it), restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("TINYGPT_BENCH_THREADS", "1")))
    yield
    torch.set_num_threads(before)


def gpt2_pair(directory: Path, layers: int) -> tuple[Callable[[], list[int]], Callable[[], list[int]]]:
    """transformers' and tinygpt's greedy generators over the same saved random GPT-2."""
    torch.manual_seed(0)
    reference = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=layers)).eval()
    reference.save_pretrained(directory)
    ours = load_hf_network(directory).eval().use_decoding_layout()
    prompt = torch.tensor([PROMPT])
    eot = reference.config.eos_token_id

    def theirs() -> list[int]:
        out = reference.generate(
            prompt,
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            use_cache=True,
            pad_token_id=eot,
        )
        return out[0, len(PROMPT) :].tolist()

    def mine() -> list[int]:
        return ours.generate(prompt, NEW_TOKENS, greedy=True)[0, len(PROMPT) :].tolist()

    return theirs, mine


class Timing:
    """The best CPU and wall seconds seen for one side."""

    def __init__(self) -> None:
        self.cpu = self.wall = float("inf")

    def measure(self, run: Callable[[], object]) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        run()
        self.cpu = min(self.cpu, time.process_time() - cpu)
        self.wall = min(self.wall, time.perf_counter() - wall)


@pytest.mark.parametrize("layers", [6, 12] if FULL else [2])
def test_greedy_generation_against_transformers(benchmark, tmp_path, layers):
    theirs, mine = gpt2_pair(tmp_path, layers)
    assert mine() == theirs(), "greedy tokens differ from transformers' generate"
    peer, ours = Timing(), Timing()
    for _ in range(ROUNDS):
        peer.measure(theirs)
        ours.measure(mine)
    benchmark.pedantic(mine, rounds=1, iterations=1)
    ratio = peer.wall / ours.wall
    benchmark.extra_info.update(
        layers=layers,
        tokens=NEW_TOKENS,
        threads=torch.get_num_threads(),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        transformers_tokens_per_cpu_s=round(NEW_TOKENS / peer.cpu, 1),
        tinygpt_tokens_per_cpu_s=round(NEW_TOKENS / ours.cpu, 1),
        transformers_tokens_per_s=round(NEW_TOKENS / peer.wall, 1),
        tinygpt_tokens_per_s=round(NEW_TOKENS / ours.wall, 1),
        speedup=round(ratio, 2),
        target=TARGET,
        target_met=ratio >= TARGET,
    )
    print(
        f"\nGPT-2 shape, {layers} layers, {NEW_TOKENS} greedy tokens, {torch.get_num_threads()} thread(s), "
        f"{torch.backends.cpu.get_cpu_capability()}: transformers {NEW_TOKENS / peer.wall:.1f} tok/s "
        f"({NEW_TOKENS / peer.cpu:.1f} per CPU second), tinygpt {NEW_TOKENS / ours.wall:.1f} tok/s "
        f"({NEW_TOKENS / ours.cpu:.1f} per CPU second), speed-up {ratio:.2f}x (target {TARGET}x)"
    )
