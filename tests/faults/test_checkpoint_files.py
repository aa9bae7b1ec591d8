"""Damaged checkpoints: every command that reads one answers with one line (exit 2) naming
the file, never a traceback or wrong weights; a deleted checkpoint is not offered as available."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.train.support import (  # noqa: F401 (one_torch_thread and shards are fixtures)
    one_torch_thread,
    shards,
    tiny_model_config,
    tiny_train_config,
)
from tinygpt.cli import main
from tinygpt.run.layout import CheckpointIndex, RunLayout
from tinygpt.train import train


@pytest.fixture(scope="module")
def trained(shards, tmp_path_factory):
    run = tmp_path_factory.mktemp("ckpt") / "run"
    train(
        shards,
        run,
        tiny_model_config(),
        tiny_train_config(training_iterations=8, evaluation_interval=4),
        device="cpu",
        precision="fp32",
        show_progress=False,
    )
    return run


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def _commands(run, shards):
    return {
        "generate": ["generate", str(run), "--input", "Once", "--token-count", "3", "--device", "cpu"],
        "eval": ["eval", str(run), "--data", str(shards), "--device", "cpu"],
        "resume": ["train", "--resume", str(run), "--device", "cpu", "--no-progress"],
    }


def _one_line_error(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize("command", ["generate", "eval", "resume"])
@pytest.mark.parametrize(
    "file, keep", [("model.safetensors", 100), ("model.safetensors", 5000), ("trainer_state.pt", 3000)]
)
def test_a_truncated_checkpoint_file_is_a_one_line_error(run, shards, capsys, command, file, keep):
    index = CheckpointIndex.read(RunLayout.of(run))
    for name in {index.best, index.last}:
        path = run / "checkpoints" / name / file
        path.write_bytes(path.read_bytes()[:keep])
    argv = _commands(run, shards)[command]
    if command != "resume" and file == "trainer_state.pt":
        assert main(argv) == 0  # generation and evaluation never read the trainer state
        return
    assert f"{file}: damaged or truncated" in _one_line_error(argv, capsys)


@pytest.mark.parametrize(
    "text",
    ['{"last": 5', '{"last": 5, "best": null, "kept": []}', "[]", '{"last": "../../etc", "best": null, "kept": []}'],
)
def test_a_malformed_index_is_a_one_line_error(run, shards, capsys, text):
    (run / "checkpoints" / "index.json").write_text(text)
    for argv in _commands(run, shards).values():
        assert "index.json: malformed checkpoint index" in _one_line_error(argv, capsys)


def test_a_deleted_best_checkpoint_is_not_listed_as_available(run, capsys):
    index = CheckpointIndex.read(RunLayout.of(run))
    shutil.rmtree(run / "checkpoints" / index.best)
    err = _one_line_error(_commands(run, None)["generate"], capsys)
    available = err.split("available: ")[1]
    assert f"'best ({index.best})' not found" in err and index.best not in available
    assert "best" not in available.replace(index.best, "")


def test_damaged_weights_with_an_intact_size_are_caught_by_their_digest(run, capsys):
    index = CheckpointIndex.read(RunLayout.of(run))
    path = run / "checkpoints" / index.best / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # inside the last tensor: safetensors alone would load it silently
    path.write_bytes(bytes(data))
    assert "damaged or truncated" in _one_line_error(_commands(run, None)["generate"], capsys)
    meta = json.loads((path.parent / "meta.json").read_text())
    assert set(meta["sha256"]) == {"model.safetensors", "trainer_state.pt"}


def test_a_checkpoint_with_nan_weights_is_refused_before_sampling(run, capsys):
    """Such checkpoints were saved before divergence stopped training; sampling from them
    failed with a traceback."""
    index = CheckpointIndex.read(RunLayout.of(run))
    path = run / "checkpoints" / index.best / "model.safetensors"
    tensors = load_file(str(path))
    tensors = {name: torch.full_like(t, float("nan")) for name, t in tensors.items()}
    save_file(tensors, str(path))
    (path.parent / "meta.json").unlink()  # as written before digests were recorded
    assert "holds NaN or infinite weights" in _one_line_error(_commands(run, None)["generate"], capsys)
