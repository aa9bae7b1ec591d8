"""Fault suite, part 2: kill -9 at random moments of tokenize and train (checkpoint writes
included), then the commands a user would run next. The finished result must equal that of an
uninterrupted run: the same shards byte for byte, the same final held-out loss.

Moments are drawn (seeded) over the measured length of an uninterrupted run, so they land in
start-up, in the work and in the writes alike.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinygpt.data.sources import embedded_corpus_path
from tinygpt.tokenizer import BPETokenizer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only")

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TRAIN_FLAGS = [
    "--vocab-size",
    "300",
    "--embedding-size",
    "16",
    "--context-length",
    "16",
    "--head-count",
    "2",
    "--block-count",
    "1",
    "--training-iterations",
    "30",
    "--evaluation-interval",
    "3",
    "--evaluation-iterations",
    "1",
    "--contexts-per-batch",
    "4",
    "--checkpoints-kept",
    "2",
    "--threads",
    "1",
    "--device",
    "cpu",
    "--precision",
    "fp32",
    "--no-progress",
    "--seed",
    "5",
]


def tinygpt(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinygpt", *argv], capture_output=True, check=False, text=True, env=ENV, timeout=300
    )


def killed_at(seconds: float, *argv: str) -> None:
    """Start `tinygpt ARGV`, SIGKILL it after ``seconds`` (if still running)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tinygpt", *argv], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        child.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()


def timed(*argv: str) -> float:
    started = time.perf_counter()
    result = tinygpt(*argv)
    assert result.returncode == 0, result.stderr[-2000:]
    return time.perf_counter() - started


def shard_bytes(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*.bin"))}


def final_held_out(run: Path) -> dict:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if r["kind"] == "held_out"][-1]


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.ron"
    BPETokenizer.train(embedded_corpus_path(), 300, mode="bytes", show_progress=False).save(path)
    return path


def test_tokenize_killed_at_random_moments_then_rerun_gives_identical_shards(tokenizer_file, tmp_path):
    argv = [
        "tokenize",
        "--data",
        "embedded",
        "--tokenizer",
        str(tokenizer_file),
        "--shard-tokens",
        "1500",
        "--no-progress",
        "--threads",
        "1",
    ]
    duration = timed(*argv, "--out", str(tmp_path / "reference"))
    reference = shard_bytes(tmp_path / "reference")
    assert len(reference) > 10
    rng = random.Random(13)
    for attempt in range(3):
        out = tmp_path / f"killed{attempt}"
        killed_at(rng.uniform(0.3, 1.0) * duration, *argv, "--out", str(out))
        result = tinygpt(*argv, "--out", str(out))  # the user runs the same command again
        assert result.returncode == 0, result.stderr[-2000:]
        assert shard_bytes(out) == reference
        assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def shards(tokenizer_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards") / "shards"
    result = tinygpt(
        "tokenize", "--data", "embedded", "--tokenizer", str(tokenizer_file), "--out", str(out), "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    return out


def continue_like_a_user(shards: Path, run: Path) -> subprocess.CompletedProcess:
    """Resume if there is something to resume, else start the same training again."""
    resumed = tinygpt(
        "train", "--resume", str(run), "--device", "cpu", "--precision", "fp32", "--no-progress", "--threads", "1"
    )
    if resumed.returncode == 0:
        return resumed
    assert resumed.returncode == 2 and "Traceback" not in resumed.stderr, resumed.stderr[-2000:]
    assert len(resumed.stderr.strip().splitlines()) == 1, resumed.stderr
    return tinygpt("train", "--data", str(shards), "--out", str(run), *TRAIN_FLAGS)


def test_train_killed_at_random_moments_then_continued_ends_as_if_never_killed(shards, tmp_path):
    duration = timed("train", "--data", str(shards), "--out", str(tmp_path / "reference"), *TRAIN_FLAGS)
    reference = final_held_out(tmp_path / "reference")
    rng = random.Random(7)
    for attempt in range(4):
        run = tmp_path / f"killed{attempt}"
        killed_at(rng.uniform(0.2, 1.0) * duration, "train", "--data", str(shards), "--out", str(run), *TRAIN_FLAGS)
        result = continue_like_a_user(shards, run)
        assert result.returncode == 0, result.stderr[-2000:]
        assert final_held_out(run) == {**reference, "step": reference["step"]}
        checkpoints = run / "checkpoints"
        index = json.loads((checkpoints / "index.json").read_text())
        assert sorted(p.name for p in checkpoints.iterdir()) == sorted([*index["kept"], "index.json"])
        assert not (run / "train.lock").exists()
