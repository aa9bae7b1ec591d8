"""torchrun: two CPU processes (gloo) train exactly like one process with the same global
batch (split into accumulated micro-batches, so both see the same windows), with and without
gradient accumulation inside each process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.train.support import make_shards, metric_values

FLAGS = [
    "--vocab-size",
    "300",
    "--embedding-size",
    "32",
    "--context-length",
    "16",
    "--head-count",
    "2",
    "--block-count",
    "2",
    # Dropout off: each process has its own dropout masks, so only then can losses match.
    "--embedding-dropout",
    "0",
    "--attention-dropout",
    "0",
    "--feed-forward-dropout",
    "0",
    "--residual-dropout",
    "0",
    "--training-iterations",
    "6",
    "--evaluation-interval",
    "3",
    "--evaluation-iterations",
    "2",
    "--contexts-per-batch",
    "8",
    "--learning-rate",
    "3e-3",
    "--log-interval",
    "1",
    "--device",
    "cpu",
    "--precision",
    "fp32",
    "--no-progress",
    "--threads",
    "1",
]


def tinygpt_train(*launcher: str, args: list[str], cwd) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, *launcher, "-m", "tinygpt", "train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr


@pytest.mark.slow
@pytest.mark.parametrize("accumulation", [1, 2])
def test_two_process_ddp_matches_one_process_with_the_same_global_batch(tmp_path, accumulation):
    """Rank r of 2 draws the loader's global batches 2b + r, so 2 processes x `accumulation`
    micro-batches see the same windows as 1 process x 2 * `accumulation` micro-batches."""
    shards = make_shards(tmp_path / "shards")
    common = ["--data", str(shards), *FLAGS]
    tinygpt_train(
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        args=[*common, "--grad-accumulation", str(accumulation), "--out", "ddp"],
        cwd=tmp_path,
    )
    tinygpt_train(args=[*common, "--grad-accumulation", str(2 * accumulation), "--out", "single"], cwd=tmp_path)

    ddp = metric_values(tmp_path / "ddp", "train", "loss")
    single = metric_values(tmp_path / "single", "train", "loss")
    assert [s for s, _ in ddp] == list(range(1, 7))
    assert [loss for _, loss in ddp] == pytest.approx([loss for _, loss in single], rel=1e-5)
    assert ddp[-1][1] < ddp[0][1]
    held_out = [metric_values(tmp_path / run, "held_out", "loss")[0][1] for run in ("ddp", "single")]
    assert held_out[0] == pytest.approx(held_out[1], rel=1e-5)
