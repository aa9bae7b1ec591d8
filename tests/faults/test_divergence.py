"""A diverging training stops at once with a clear error, keeps its last good checkpoint, and
leaves metrics.jsonl strict JSON."""

from __future__ import annotations

import json
import math

import pytest

from tests.train.support import (  # noqa: F401 (one_torch_thread and shards are fixtures)
    one_torch_thread,
    shards,
    tiny_model_config,
    tiny_train_config,
)
from tinygpt.cli import main
from tinygpt.run import load_run
from tinygpt.run.layout import CheckpointIndex, RunLayout
from tinygpt.train import resume, train
from tinygpt.train.divergence import TrainingDiverged


def _strict_records(path):
    """Every line parsed by a JSON parser that refuses NaN and Infinity (not JSON)."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


def test_a_diverging_run_stops_and_keeps_its_last_good_checkpoint(shards, tmp_path):
    run = tmp_path / "run"
    config = tiny_train_config(training_iterations=8, evaluation_interval=4, log_interval=1)
    train(shards, run, tiny_model_config(), config, device="cpu", precision="fp32", show_progress=False)
    layout = RunLayout.of(run)
    good = CheckpointIndex.read(layout)
    exploding = config.replace(training_iterations=40, learning_rate=1e30, grad_clip=0.0)
    with pytest.raises(TrainingDiverged, match=r"diverged at step \d+: .* step_00000008 is kept"):
        resume(run, train_config=exploding, device="cpu", precision="fp32", show_progress=False)
    assert CheckpointIndex.read(layout) == good
    model, _ = load_run(run, "best")
    assert all(math.isfinite(float(p.detach().abs().sum())) for p in model.parameters())
    records = _strict_records(layout.metrics)
    assert records[-1]["loss"] is None, "the diverged step is recorded, as null"


def test_the_cli_says_so_in_one_line_with_exit_status_2(shards, tmp_path, capsys):
    status = main(
        [
            "train",
            "--data",
            str(shards),
            "--out",
            str(tmp_path / "run"),
            "--device",
            "cpu",
            "--precision",
            "fp32",
            "--no-progress",
            "--vocab-size",
            "300",
            "--context-length",
            "16",
            "--embedding-size",
            "16",
            "--block-count",
            "1",
            "--head-count",
            "1",
            "--training-iterations",
            "30",
            "--contexts-per-batch",
            "4",
            "--learning-rate",
            "1e30",
            "--grad-clip",
            "0",
            "--evaluation-interval",
            "10",
        ]
    )
    error = capsys.readouterr().err.strip()
    assert status == 2
    assert len(error.splitlines()) == 1 and "training diverged at step" in error
    assert "no checkpoint was written" in error or "is kept" in error
    _strict_records(RunLayout.of(tmp_path / "run").metrics)
