"""`tinygpt train` against a plain eager float32 PyTorch loop (benches/baseline_train_loop.py).

Same architecture and init, same shards, same global batch, same number of steps, one torch
thread each (the development machine's two cores are shared with other jobs; one thread keeps
the comparison stable; ``TINYGPT_BENCH_THREADS=N`` for N). ``TINYGPT_BENCH_PRECISION`` sets
tinygpt's ``--precision`` (default ``auto``: bf16 where the CPU has it natively, else fp32).
Each side runs as a user runs it, in a fresh process of its own (``python -m tinygpt train``;
``python baseline_train_loop.py``), so neither inherits the other's process state (allocator
settings, thread pools). The two alternate over several rounds (ours first in even rounds,
the plain loop first in odd ones), each round a fresh run of both from the same seed, so a
change in machine load hits both sides alike. Reported: the median of the per-round speed
ratios (one disturbed round cannot carry it), tokens/s of each over all timed steps (after a
warm-up), and the exact held-out loss of both models after the same steps
(tinygpt.evaluate over every held-out token), so the speed does not cost quality. Quick mode:
a tiny model for a few steps. ``TINYGPT_BENCH_FULL=1``: gpt-rs's 2.1 M-parameter config,
batch 64 x 64, on the TinyStories sample with a words-mode 2,048-token tokenizer.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from baseline_train_loop import PlainConfig, PlainGPT, plain_config_json

from tinygpt.data import TokenLoader, tokenize_corpus
from tinygpt.data.sources import embedded_corpus_path
from tinygpt.evaluate import held_out_loss
from tinygpt.model import GPTConfig
from tinygpt.precision import autocast_dtype, precision_name
from tinygpt.tokenizer import BPETokenizer
from tinygpt.train import TrainConfig
from tinygpt.train.metrics import read_metrics

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
THREADS = int(os.environ.get("TINYGPT_BENCH_THREADS", "1"))
PRECISION = os.environ.get("TINYGPT_BENCH_PRECISION", "auto")
ROUNDS, WARMUP_STEPS, STEPS = (5, 5, 40) if FULL else (1, 2, 6)
BATCH = 64 if FULL else 8
LEARNING_RATE = 2e-4 if FULL else 1e-3
MODEL = (
    GPTConfig()
    if FULL
    else GPTConfig(vocab_size=300, embedding_size=32, context_length=16, head_count=2, block_count=2)
)
BASELINE_SCRIPT = Path(__file__).with_name("baseline_train_loop.py")


@pytest.fixture(scope="module")
def shards(tmp_path_factory, request) -> Path:
    directory = tmp_path_factory.mktemp("shards")
    corpus = request.getfixturevalue("tinystories_parquet") if FULL else embedded_corpus_path()
    tokenizer = BPETokenizer.train(corpus, MODEL.vocab_size, mode="words")
    tokenize_corpus(corpus, tokenizer, directory, show_progress=False)
    return directory


def run_child(*argv: str) -> str:
    """Run ``python ARGV``; its stdout, or a failure showing its stderr."""
    result = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def ours(shards: Path, out: Path, seed: int) -> tuple[float, float]:
    """Timed seconds and exact held-out loss of `tinygpt train` (defaults: fused AdamW, no
    per-step host sync; precision PRECISION)."""
    out.mkdir()
    MODEL.save(out / "model.json")
    TrainConfig(
        training_iterations=WARMUP_STEPS + STEPS,
        evaluation_interval=WARMUP_STEPS + STEPS,
        evaluation_iterations=1,
        contexts_per_batch=BATCH,
        learning_rate=LEARNING_RATE,
        sampling="stream",
        log_interval=WARMUP_STEPS,
    ).save(out / "train.json")
    run = out / "run"
    run_child(
        *("-m", "tinygpt", "train", "--data", str(shards), "--out", str(run), "--no-progress", "--device", "cpu"),
        *("--transformer-config", str(out / "model.json"), "--train-config", str(out / "train.json")),
        *("--precision", PRECISION, "--threads", str(THREADS), "--seed", str(seed)),
    )
    records = read_metrics(run / "metrics.jsonl")
    timed = [r for r in records if r["kind"] == "train"][1:]
    assert len(timed) * WARMUP_STEPS == STEPS
    seconds = sum(WARMUP_STEPS * BATCH * MODEL.context_length / r["tokens_per_second"] for r in timed)
    return seconds, [r for r in records if r["kind"] == "held_out"][-1]["loss"]


def baseline(shards: Path, out: Path, seed: int) -> tuple[float, float]:
    plain = PlainConfig(
        MODEL.vocab_size,
        MODEL.embedding_size,
        MODEL.context_length,
        MODEL.head_count,
        MODEL.block_count,
        MODEL.feed_forward_multiplier,
        MODEL.embedding_dropout,
    )
    weights = out / "plain.pt"
    stdout = run_child(
        *(str(BASELINE_SCRIPT), str(shards / "train_000000.bin"), str(weights), "--config", plain_config_json(plain)),
        *("--steps", str(STEPS), "--warmup-steps", str(WARMUP_STEPS), "--batch-size", str(BATCH)),
        *("--learning-rate", str(LEARNING_RATE), "--seed", str(seed), "--threads", str(THREADS)),
    )
    tokens_per_second = json.loads(stdout.splitlines()[-1])["tokens_per_second"]
    model = PlainGPT(plain)
    model.load_state_dict(torch.load(weights))
    windows = TokenLoader(shards, BATCH, MODEL.context_length, split="val").iter_eval()
    loss = held_out_loss(model, windows, torch.device("cpu"), text_bytes=None).loss
    return STEPS * BATCH * MODEL.context_length / tokens_per_second, loss


def test_train_throughput_against_a_plain_fp32_loop(benchmark, shards, tmp_path):
    def one_round(seed: int) -> tuple[tuple[float, float], tuple[float, float]]:
        out = tmp_path / f"round{seed}"
        out.mkdir()
        if seed % 2:
            peer = baseline(shards, out, seed)
            return ours(shards, out / "ours", seed), peer
        return ours(shards, out / "ours", seed), baseline(shards, out, seed)

    rounds = benchmark.pedantic(lambda: [one_round(seed) for seed in range(ROUNDS)], rounds=1, iterations=1)
    tokens = ROUNDS * STEPS * BATCH * MODEL.context_length
    our_rate = tokens / sum(mine[0] for mine, _ in rounds)
    peer_rate = tokens / sum(peer[0] for _, peer in rounds)
    our_loss = statistics.mean(mine[1] for mine, _ in rounds)
    peer_loss = statistics.mean(peer[1] for _, peer in rounds)
    per_round = [peer[0] / mine[0] for mine, peer in rounds]
    median = statistics.median(per_round)
    precision = precision_name(autocast_dtype(PRECISION, torch.device("cpu")))
    benchmark.extra_info.update(
        ours_tokens_per_second=our_rate,
        plain_fp32_tokens_per_second=peer_rate,
        median_ratio=median,
        ratio_of_totals=our_rate / peer_rate,
        ours_held_out_loss=our_loss,
        plain_held_out_loss=peer_loss,
        steps=WARMUP_STEPS + STEPS,
        rounds=ROUNDS,
        precision=precision,
        threads=THREADS,
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        per_round_ratio=per_round,
    )
    print(
        f"\n{THREADS} thread(s), {torch.backends.cpu.get_cpu_capability()}: "
        f"tinygpt train ({precision}) {our_rate:,.0f} tokens/s, plain fp32 loop "
        f"{peer_rate:,.0f} tokens/s: median of {ROUNDS} rounds {median:.2f}x (per round: "
        f"{', '.join(f'{ratio:.2f}x' for ratio in per_round)}; totals {our_rate / peer_rate:.2f}x); "
        f"held-out loss after {WARMUP_STEPS + STEPS} steps, mean of {ROUNDS} seed(s): ours {our_loss:.4f}, "
        f"plain {peer_loss:.4f}"
    )
    assert our_rate > 0 and peer_rate > 0
    assert abs(our_loss - peer_loss) < (0.1 if FULL else 0.5)
