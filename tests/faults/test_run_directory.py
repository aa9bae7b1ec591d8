"""The run directory: where training may write, one writer at a time, and what a killed run
leaves behind (cleared before the next training), with one-line errors for bad --out."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.train.support import (  # noqa: F401 (one_torch_thread and shards are fixtures)
    one_torch_thread,
    shards,
    tiny_model_config,
    tiny_train_config,
)
from tinygpt.cli import main
from tinygpt.errors import ConfigError
from tinygpt.run.claim import LOCK_NAME, claim_existing_run, claim_new_run
from tinygpt.run.layout import CheckpointIndex, RunError, RunLayout
from tinygpt.train import resume, train


def run_tiny(shards, out, **changes):
    return train(
        shards,
        out,
        tiny_model_config(),
        tiny_train_config(**changes),
        device="cpu",
        precision="fp32",
        show_progress=False,
    )


def test_out_that_is_a_file_is_a_one_line_error(shards, tmp_path, capsys):
    (tmp_path / "taken").write_text("mine")
    assert main(["train", "--data", str(shards), "--out", str(tmp_path / "taken")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"tinygpt train: error: --out {tmp_path / 'taken'} is an existing file; choose a directory name"
    )
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="permissions are not enforced for root (or on Windows)"
)
def test_out_in_a_read_only_directory_is_a_one_line_error(shards, tmp_path, capsys):
    (tmp_path / "ro").mkdir(mode=0o555)
    assert main(["train", "--data", str(shards), "--out", str(tmp_path / "ro" / "run")]) == 2
    assert "cannot create the run directory" in capsys.readouterr().err


def test_a_second_writer_is_refused_while_the_first_holds_the_run(shards, tmp_path):
    run_tiny(shards, tmp_path / "run", training_iterations=4, evaluation_interval=4)
    layout = RunLayout.of(tmp_path / "run")
    with claim_existing_run(layout):
        assert (layout.root / LOCK_NAME).read_text().split()[0] == str(os.getpid())
        with pytest.raises(RunError, match=rf"being trained by process {os.getpid()} on .*lock"):
            resume(layout.root, device="cpu", show_progress=False)
        with pytest.raises(RunError, match="being trained by process"):
            run_tiny(shards, layout.root)
    assert not (layout.root / LOCK_NAME).exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(shards, tmp_path):
    run_tiny(shards, tmp_path / "run", training_iterations=4, evaluation_interval=4)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (tmp_path / "run" / LOCK_NAME).write_text(f"{dead} {socket.gethostname()}\n")
    config = tiny_train_config(training_iterations=8, evaluation_interval=4)
    summary = resume(tmp_path / "run", train_config=config, device="cpu", show_progress=False)
    assert summary.steps == 8 and not (tmp_path / "run" / LOCK_NAME).exists()


def test_leftovers_of_a_killed_checkpoint_write_are_cleared_on_resume(shards, tmp_path):
    run_tiny(shards, tmp_path / "run", training_iterations=8, evaluation_interval=4, checkpoints_kept=1)
    layout = RunLayout.of(tmp_path / "run")
    staging = layout.checkpoints / ".step_00000012.abc123"
    staging.mkdir()
    (staging / "model.safetensors").write_bytes(b"half")
    half_deleted = layout.checkpoints / "step_00000002"
    half_deleted.mkdir()
    (layout.root / ".metrics.jsonl.x1.tmp").write_text("partial")
    (layout.root / ".git").mkdir()  # not ours: never touched
    config = tiny_train_config(training_iterations=12, evaluation_interval=4, checkpoints_kept=1)
    resume(layout.root, train_config=config, device="cpu", show_progress=False)
    names = sorted(entry.name for entry in layout.checkpoints.iterdir())
    kept = CheckpointIndex.read(layout).kept
    assert names == sorted([*kept, "index.json"])
    assert not list(layout.root.glob(".*.tmp")) and (layout.root / ".git").is_dir()


def test_a_run_killed_before_its_first_checkpoint_restarts_into_the_same_out(shards, tmp_path, capsys):
    out = tmp_path / "run"
    run_tiny(shards, out, training_iterations=4, evaluation_interval=4)
    layout = RunLayout.of(out)
    # What a kill -9 before the first checkpoint leaves: the run files, no checkpoint.
    shutil.rmtree(layout.checkpoints)
    with pytest.raises(RunError, match="no checkpoint to resume: its training stopped before the first"):
        resume(out, device="cpu", show_progress=False)
    summary = run_tiny(shards, out, training_iterations=4, evaluation_interval=4)
    assert summary.steps == 4 and CheckpointIndex.read(layout).last == "step_00000004"
    assert "clearing a run that stopped before its first checkpoint" in capsys.readouterr().err
    records = [json.loads(line) for line in layout.metrics.read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3, 4]


def test_a_directory_with_other_files_is_never_cleared(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with (
        pytest.raises(ConfigError, match=r"exists and is not empty \(notes.txt\)"),
        claim_new_run(RunLayout.of(tmp_path / "mine")),
    ):
        pass
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "mine" / LOCK_NAME).exists()
