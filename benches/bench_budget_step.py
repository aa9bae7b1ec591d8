"""Budget mode's training step on the CPU: what its speed-ups give, side by side.

One process, the same model, batches and seed for each variant: torch's fused attention with
torch's Muon (what budget mode ran before), the written-out attention with torch's Muon, and
the written-out attention with the stacked Muon (what it runs now; tinygpt.model.gpt and
tinygpt.train.muon say why). The variants alternate over several rounds, so a load spike on a
shared machine hits each alike; reported: the median over rounds of each one's median step
time, and tokens/s. Needs native bf16 (AVX512-BF16 or AMX); elsewhere budget mode trains in
float32, where neither change applies; there the second test times Muon's Newton-Schulz
iterations in bf16 (torch's) against float32 (what the stacked Muon runs without native
bf16). Quick mode: a tiny model for a few steps.
``TINYGPT_BENCH_FULL=1``: budget mode's model for the TinyStories sample (4 blocks, width 128,
windows of 256, vocabulary 2,048, tied head, GELU, rotary positions; 4 windows a batch), 40 steps a round, 5 rounds;
``TINYGPT_BENCH_THREADS=N`` threads (default: 2 in the full mode, as the 4-minute comparison; 1 in the quick one).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
import torch
from torch.nn import functional as F

import tinygpt.model.gpt as gpt_module
import tinygpt.train.muon as muon_module
import tinygpt.train.optim as optim_module
from tinygpt.model import GPT
from tinygpt.precision import cpu_has_native_bf16
from tinygpt.train.muon import StackedMuon
from tinygpt.train.optim import build_optimizer
from tinygpt.train.recipe import plan_recipe

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
THREADS = int(os.environ.get("TINYGPT_BENCH_THREADS", "2" if FULL else "1"))
ROUNDS, WARMUP_STEPS, STEPS = (5, 5, 40) if FULL else (1, 1, 3)
RECIPE = plan_recipe(240, vocab_size=2048 if FULL else 300, device="cpu", flops_per_second=0.0, threads=THREADS)
MODEL = RECIPE.model if FULL else replace(RECIPE.model, embedding_size=32, context_length=16, head_count=2)
BATCH = RECIPE.train.contexts_per_batch
VARIANTS = {
    "fused attention, torch's Muon": (lambda q, p: p > 0, torch.optim.Muon),
    "written-out attention, torch's Muon": (gpt_module._write_out_attention, torch.optim.Muon),
    "written-out attention, stacked Muon": (gpt_module._write_out_attention, StackedMuon),
}


def median_step_seconds(batches: list[torch.Tensor], autocast: bool) -> float:
    torch.manual_seed(0)
    model = GPT(MODEL).train()
    optimizer = build_optimizer(model, RECIPE.train, torch.device("cpu"))
    times = []
    for step, x in enumerate(batches):
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = F.cross_entropy(model(x).flatten(0, 1), x.roll(-1, 1).flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= WARMUP_STEPS:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def alternate(benchmark, variants: dict[str, Callable[[], None]], autocast: bool) -> dict[str, float]:
    """Each variant's median step time (its setting applied by its callable), median over
    ROUNDS rounds that alternate the variants; printed and recorded against the first."""
    torch.set_num_threads(THREADS)
    generator = torch.Generator().manual_seed(1)
    batches = [
        torch.randint(0, MODEL.vocab_size, (BATCH, MODEL.context_length), generator=generator)
        for _ in range(WARMUP_STEPS + STEPS)
    ]

    def rounds() -> dict[str, list[float]]:
        seconds: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(ROUNDS):
            for name, apply in variants.items():
                apply()
                seconds[name].append(median_step_seconds(batches, autocast))
        return seconds

    seconds = benchmark.pedantic(rounds, rounds=1, iterations=1)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    before = next(iter(medians.values()))
    tokens = BATCH * MODEL.context_length
    benchmark.extra_info.update(
        {name: {"step_ms": 1e3 * value, "speed_up": before / value} for name, value in medians.items()},
        threads=THREADS,
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
    )
    print(f"\n{THREADS} thread(s), {torch.backends.cpu.get_cpu_capability()}, median of {ROUNDS} round(s):")
    for name, value in medians.items():
        print(f"  {name}: {1e3 * value:.1f} ms a step, {tokens / value:,.0f} tokens/s, {before / value:.2f}x")
    assert all(value > 0 for value in medians.values())
    return medians


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="budget mode trains in float32 without native bf16")
def test_bf16_step_speed_ups(benchmark, monkeypatch):
    def variant(write_out: Callable[[torch.Tensor, float], bool], muon: type[torch.optim.Muon]) -> Callable[[], None]:
        def apply() -> None:
            monkeypatch.setattr(gpt_module, "_write_out_attention", write_out)
            monkeypatch.setattr(optim_module, "StackedMuon", muon)

        return apply

    alternate(benchmark, {name: variant(*setting) for name, setting in VARIANTS.items()}, autocast=True)


def test_float32_step_muon_iterations(benchmark, monkeypatch):
    """The float32 step (a CPU without native bf16) with Muon's iterations in bf16, as torch
    iterates, and in float32, as the stacked Muon does there. Where bf16 is emulated, run
    under ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`` on a CPU that has it."""

    def iterations(native_bf16: bool) -> Callable[[], None]:
        def apply() -> None:
            monkeypatch.setattr(muon_module, "cpu_has_native_bf16", lambda: native_bf16)
            muon_module.iteration_dtype.cache_clear()

        return apply

    try:
        alternate(
            benchmark,
            {"bf16 iterations": iterations(True), "float32 iterations": iterations(False)},
            autocast=False,
        )
    finally:
        muon_module.iteration_dtype.cache_clear()
