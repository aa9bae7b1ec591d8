"""The manifest is checked against itself and against its shards' headers whenever a shard
directory is opened, by every command: a disagreement is a one-line error, never a wrong
bits-per-byte or a failure found only after training."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.train.support import (  # noqa: F401 (one_torch_thread and shards are fixtures)
    one_torch_thread,
    shards,
    tiny_model_config,
    tiny_train_config,
)
from tinygpt.cli import main
from tinygpt.data import TokenLoader, read_manifest
from tinygpt.errors import DataError
from tinygpt.train import train


@pytest.fixture
def copied(shards, tmp_path):
    return shutil.copytree(shards, tmp_path / "shards")


def _edit_manifest(directory, change):
    path = directory / "manifest.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_token_counts_disagreeing_with_the_headers_are_refused_by_every_reader(copied, tmp_path, capsys):
    def shrink(record):
        shard = record["splits"]["val"]["shards"][0]
        shard["tokens"] -= 100
        record["splits"]["val"]["tokens"] -= 100

    _edit_manifest(copied, shrink)
    message = r"val_000000.bin: its header says \d+ uint16 tokens, the manifest \d+ uint16 tokens"
    with pytest.raises(DataError, match=message):
        read_manifest(copied)
    with pytest.raises(DataError, match=message):
        TokenLoader(copied, 2, 8, split="train")
    assert main(["train", "--data", str(copied), "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert "its header says" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_split_totals_that_do_not_add_up_are_refused(copied):
    _edit_manifest(copied, lambda record: record["splits"]["train"].update(tokens=1))
    with pytest.raises(DataError, match="split 'train' says 1 tokens but its shards add up to"):
        read_manifest(copied)


def test_an_end_of_text_id_beyond_the_vocabulary_is_refused_before_training(copied, tmp_path):
    _edit_manifest(copied, lambda record: record.update(eot_id=record["vocab_size"] + 5))
    with pytest.raises(DataError, match=r"eot_id \d+ lies outside the vocabulary of 300 tokens"):
        train(copied, tmp_path / "run", tiny_model_config(), tiny_train_config(), device="cpu", show_progress=False)
    assert not (tmp_path / "run").exists()


def test_eval_on_a_directory_whose_manifest_disagrees_is_a_one_line_error(shards, copied, tmp_path, capsys):
    train(
        shards,
        tmp_path / "run",
        tiny_model_config(),
        tiny_train_config(training_iterations=2, evaluation_interval=2),
        device="cpu",
        show_progress=False,
    )
    (copied / "val_000000.bin").write_bytes((copied / "val_000000.bin").read_bytes()[:2048])
    assert main(["eval", str(tmp_path / "run"), "--data", str(copied), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "val_000000.bin" in err


def test_a_ron_integer_of_5000_digits_is_a_one_line_error(tmp_path, capsys):
    config = tmp_path / "t.ron"
    config.write_text(f"(vocab_size: {'9' * 5000}, embedding_size: 8)")
    assert main(["train", "--data", "x", "--out", str(tmp_path / "run"), "--transformer-config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("t.ron:1:14: number of 5,000 digits is out of range") and len(err) < 300
