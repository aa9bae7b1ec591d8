"""torchrun: two CPU processes (gloo) train exactly like one process with the same global
batch (split into accumulated micro-batches, so both see the same windows), with and without
gradient accumulation inside each process; budget mode's ranks plan from one speed probe."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing

from tests.train.support import make_shards, metric_values
from tinygpt.cli.train import agreed_training_flops
from tinygpt.train.distributed import DistContext

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _probe_on_rank(rank: int, port: int, results) -> None:
    """One rank of a 2-process gloo group: each rank's own probe would say something else."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    context = DistContext(rank=rank, world_size=2, local_rank=rank)
    probed: list[int] = []

    def probe(device: torch.device) -> float:
        probed.append(rank)
        return 1e9 * (rank + 1)

    try:
        results.put((rank, agreed_training_flops(context, torch.device("cpu"), probe), probed))
    finally:
        context.stop()


def test_budget_mode_ranks_plan_from_rank_zeros_speed_probe():
    """Ranks that probed for themselves could pick different model shapes; rank 0 probes alone
    and every rank gets its figure."""
    spawn = torch.multiprocessing.get_context("spawn")
    results = spawn.Queue()
    port = _free_port()
    ranks = [spawn.Process(target=_probe_on_rank, args=(rank, port, results)) for rank in (0, 1)]
    for process in ranks:
        process.start()
    answers = sorted(results.get(timeout=120) for _ in ranks)
    for process in ranks:
        process.join(timeout=60)
    assert answers == [(0, 1e9, [0]), (1, 1e9, [])]


def test_one_process_probes_for_itself():
    assert agreed_training_flops(DistContext(), torch.device("cpu"), lambda device: 42.0) == 42.0
