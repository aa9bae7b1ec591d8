"""Exact resume: a run stopped by Ctrl-C and resumed gives the same losses and weights as an
uninterrupted run; checkpoints keep the last K and the best."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import torch
from torch import nn

from tests.train.support import (  # noqa: F401 (one_torch_thread and shards are fixtures)
    make_shards,
    metric_values,
    one_torch_thread,
    shards,
    tiny_model_config,
    tiny_train_config,
)
from tinygpt.errors import DataError
from tinygpt.run.checkpoint import save_checkpoint
from tinygpt.run.layout import CheckpointIndex, RunLayout, checkpoint_name
from tinygpt.train import resume, train


def interrupt_after(run_dir, train_records: int) -> threading.Thread:
    """Send this process SIGINT (as Ctrl-C does) once the run has logged some steps."""

    def watch() -> None:
        metrics = RunLayout.of(run_dir).metrics
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if metrics.is_file() and metrics.read_text().count('"train"') >= train_records:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_ctrl_c_then_resume_matches_an_uninterrupted_run(shards, tmp_path):
    config = tiny_train_config(training_iterations=16, evaluation_interval=5)
    options = dict(device="cpu", precision="fp32", seed=1, show_progress=False)
    whole = train(shards, tmp_path / "whole", tiny_model_config(), config, **options)

    watcher = interrupt_after(tmp_path / "split", train_records=3)
    stopped = train(shards, tmp_path / "split", tiny_model_config(), config, **options)
    watcher.join()
    assert stopped.interrupted and 3 <= stopped.steps < 16
    assert stopped.last_checkpoint == checkpoint_name(stopped.steps)
    resumed = resume(tmp_path / "split", device="cpu", precision="fp32", show_progress=False)

    assert resumed.steps == whole.steps == 16
    for kind, key in (("train", "loss"), ("eval", "val_loss"), ("eval", "train_loss"), ("held_out", "loss")):
        assert metric_values(tmp_path / "split", kind, key) == metric_values(tmp_path / "whole", kind, key), (kind, key)
    weights = "checkpoints/step_00000016/model.safetensors"
    assert (tmp_path / "split" / weights).read_bytes() == (tmp_path / "whole" / weights).read_bytes()


def test_resume_can_extend_training(shards, tmp_path):
    config = tiny_train_config(training_iterations=4, evaluation_interval=4)
    train(shards, tmp_path / "run", tiny_model_config(), config, device="cpu", show_progress=False)
    summary = resume(
        tmp_path / "run", train_config=config.replace(training_iterations=8), device="cpu", show_progress=False
    )
    assert summary.steps == 8
    assert [s for s, _ in metric_values(tmp_path / "run", "train", "loss")] == list(range(1, 9))


def test_resume_on_shards_of_another_tokenizer_is_refused(shards, tmp_path):
    config = tiny_train_config(training_iterations=2, evaluation_interval=2)
    train(shards, tmp_path / "run", tiny_model_config(), config, device="cpu", show_progress=False)
    other = make_shards(tmp_path / "other", vocab_size=280)
    with pytest.raises(DataError, match="made by another tokenizer"):
        resume(
            tmp_path / "run",
            data_dir=other,
            train_config=config.replace(training_iterations=4),
            device="cpu",
            show_progress=False,
        )


def test_checkpoints_keep_the_last_k_and_the_best(tmp_path):
    layout = RunLayout.of(tmp_path)
    model = nn.Linear(2, 2)
    for step, val_loss in zip(range(1, 6), (3.0, 1.0, 2.0, 4.0, 5.0)):
        index = save_checkpoint(layout, step, model, {"step": step}, {"val_loss": val_loss}, keep_last=2)
    assert index == CheckpointIndex(
        last=checkpoint_name(5), best=checkpoint_name(2), kept=[checkpoint_name(s) for s in (2, 4, 5)]
    )
    on_disk = sorted(p.name for p in layout.checkpoints.iterdir() if p.is_dir())
    assert on_disk == index.kept
    assert CheckpointIndex.read(layout) == index


def test_a_checkpoint_saved_as_best_displaces_a_lower_estimate(tmp_path):
    layout = RunLayout.of(tmp_path)
    model = nn.Linear(2, 2)
    for step, val_loss in zip(range(1, 4), (3.0, 1.0, 2.0)):
        index = save_checkpoint(
            layout, step, model, {"step": step}, {"val_loss": val_loss}, keep_last=1, best=step == 3
        )
    assert index == CheckpointIndex(last=checkpoint_name(3), best=checkpoint_name(3), kept=[checkpoint_name(3)])
    assert sorted(p.name for p in layout.checkpoints.iterdir() if p.is_dir()) == [checkpoint_name(3)]


def test_a_failed_checkpoint_write_leaves_no_partial_directory(tmp_path, monkeypatch):
    layout = RunLayout.of(tmp_path)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(layout, 1, nn.Linear(2, 2), {}, {}, keep_last=1)
    assert list(layout.checkpoints.iterdir()) == []
    assert not layout.index.exists()
