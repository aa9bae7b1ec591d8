"""Fault suite, part 1: every artefact damaged at several offsets (truncated, a byte flipped, a
range zeroed), each followed by the command a user would run next. Every case must end in a
one-line error (exit 2, no traceback) or in exactly the result of the undamaged artefact.

The world (shards, tokenizer, a trained run) is made once; each case damages a fresh copy.
Commands run in-process through `tinygpt.cli.main`, deterministic (fp32, greedy, seeded).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
import torch

from tinygpt.cli import main
from tinygpt.data import tokenize_corpus
from tinygpt.data.sources import embedded_corpus_path
from tinygpt.run.layout import CheckpointIndex, RunLayout
from tinygpt.tokenizer import BPETokenizer
from tinygpt.train.metrics import read_metrics

MODEL_FLAGS = [
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
]
TRAIN_FLAGS = [
    "--training-iterations",
    "4",
    "--evaluation-interval",
    "2",
    "--evaluation-iterations",
    "1",
    "--contexts-per-batch",
    "4",
]
COMMON = ["--device", "cpu", "--precision", "fp32", "--no-progress"]


def truncate_to_zero(data: bytes) -> bytes:
    return b""


def truncate_to_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def drop_last_byte(data: bytes) -> bytes:
    return data[:-1]


def _flip_at(fraction: float):
    def flip(data: bytes) -> bytes:
        position = min(int(len(data) * fraction), len(data) - 1)
        return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]

    flip.__name__ = f"flip_byte_at_{fraction:.2f}"
    return flip


def zero_16_bytes_at_a_third(data: bytes) -> bytes:
    start = len(data) // 3
    return data[:start] + bytes(min(16, len(data) - start)) + data[start + 16 :]


CORRUPTIONS = [
    truncate_to_zero,
    truncate_to_half,
    drop_last_byte,
    _flip_at(0.0),
    _flip_at(0.5),
    _flip_at(1.0),
    zero_16_bytes_at_a_third,
]

# (artefact, command run next); BEST/LAST stand for the index's checkpoint names.
CASES = [
    ("shards/manifest.json", "train"),
    ("shards/tokenizer.ron", "train"),
    ("shards/train_000000.bin", "train"),
    ("shards/val_000000.bin", "eval"),
    ("run/tokenizer.ron", "generate"),
    ("run/transformer_config.ron", "generate"),
    ("run/train_config.ron", "resume"),
    ("run/run.json", "resume"),
    ("run/checkpoints/index.json", "generate"),
    ("run/checkpoints/index.json", "resume"),
    ("run/checkpoints/BEST/model.safetensors", "generate"),
    ("run/checkpoints/BEST/model.safetensors", "eval"),
    ("run/checkpoints/LAST/trainer_state.pt", "resume"),
    ("run/checkpoints/LAST/meta.json", "resume"),
    ("run/metrics.jsonl", "resume"),
]


def command(name: str, world: Path) -> list[str]:
    run, shards = world / "run", world / "shards"
    return {
        "train": ["train", "--data", str(shards), "--out", str(world / "new"), *MODEL_FLAGS, *TRAIN_FLAGS, *COMMON],
        "resume": ["train", "--resume", str(run), "--training-iterations", "6", *COMMON],
        "generate": ["generate", str(run), "--input", "Once upon", "--token-count", "6", "--greedy", "--device", "cpu"],
        "eval": ["eval", str(run), "--data", str(shards), "--json", "--device", "cpu"],
    }[name]


def outcome(name: str, world: Path) -> tuple[int, str, str]:
    """Exit status, stderr, and the command's deterministic result (stdout, or the final
    held-out loss of a training).

    Every command starts on one torch thread: a float sum's rounding depends on how it is split
    over threads, the module-scoped expected results are made before the autouse one-thread
    fixture applies, and `generate` sets the process's thread count for whatever runs next."""
    out, err = io.StringIO(), io.StringIO()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(command(name, world))
    finally:
        torch.set_num_threads(previous_threads)
    result = out.getvalue()
    if name in ("train", "resume") and status == 0:
        run = world / ("new" if name == "train" else "run")
        result = json.dumps([r for r in read_metrics(RunLayout.of(run).metrics) if r["kind"] == "held_out"][-1])
    return status, err.getvalue(), result


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    world = tmp_path_factory.mktemp("world")
    tokenizer = BPETokenizer.train(embedded_corpus_path(), 300, mode="bytes", show_progress=False)
    tokenize_corpus(embedded_corpus_path(), tokenizer, world / "shards", show_progress=False)
    assert (
        main(
            ["train", "--data", str(world / "shards"), "--out", str(world / "run"), *MODEL_FLAGS, *TRAIN_FLAGS, *COMMON]
        )
        == 0
    )
    return world


@pytest.fixture(scope="module")
def expected(pristine, tmp_path_factory):
    """Each command's result on an undamaged copy of the world."""
    results = {}
    for name in ("train", "resume", "generate", "eval"):
        world = tmp_path_factory.mktemp(f"expected-{name}")
        shutil.copytree(pristine, world, dirs_exist_ok=True)
        status, err, results[name] = outcome(name, world)
        assert status == 0, err
    return results


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("artefact, next_command", CASES, ids=[f"{a}-{c}" for a, c in CASES])
def test_damage_ends_in_a_clear_error_or_the_correct_result(
    pristine, expected, tmp_path, record_property, artefact, next_command, corruption
):
    world = tmp_path / "world"
    shutil.copytree(pristine, world)
    index = CheckpointIndex.read(RunLayout.of(world / "run"))
    path = world / artefact.replace("BEST", index.best).replace("LAST", index.last)
    original = path.read_bytes()
    damaged = corruption(original)
    if damaged == original:
        pytest.skip("this corruption leaves the file unchanged")
    path.write_bytes(damaged)

    status, err, result = outcome(next_command, world)

    assert "Traceback" not in err
    record_property("outcome", "correct result" if status == 0 else "one-line error")
    if status == 0:
        assert result == expected[next_command], "exit 0 with a result that differs from the undamaged one"
    else:
        assert status == 2, err[-2000:]
        error_lines = [line for line in err.splitlines() if "error:" in line]
        assert len(error_lines) == 1 and error_lines[0] == err.strip().splitlines()[-1], err[-2000:]
