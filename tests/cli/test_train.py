"""`tinygpt train`, `tinygpt eval` and `tinygpt plot` from the command line."""

from __future__ import annotations

import json
import sys

import pytest

from tests.train.support import one_torch_thread, shards  # noqa: F401 (fixtures)
from tinygpt.cli import main
from tinygpt.data.sources import open_corpus
from tinygpt.run import RunLayout
from tinygpt.train.config import TrainConfig

TINY = [
    "--embedding-size",
    "32",
    "--context-length",
    "16",
    "--head-count",
    "2",
    "--block-count",
    "2",
    "--training-iterations",
    "4",
    "--evaluation-interval",
    "2",
    "--evaluation-iterations",
    "1",
    "--contexts-per-batch",
    "4",
    "--device",
    "cpu",
    "--no-progress",
]


@pytest.fixture(scope="module")
def trained_run(shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--data", str(shards), "--out", str(out), *TINY]) == 0
    return out


def test_help_offers_a_flag_for_every_config_field(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for field in TrainConfig.field_names():
        assert "--" + field.replace("_", "-") in text
    for flag in ("--vocab-size", "--residual-dropout", "--tie-weights", "--resume", "--compile"):
        assert flag in text


def test_flags_only_run_takes_the_vocabulary_from_the_shards(trained_run, capsys):
    layout = RunLayout.of(trained_run)
    assert "vocab_size: 300" in layout.transformer_config.read_text()
    assert TrainConfig.load(layout.train_config).training_iterations == 4


def test_config_files_are_used_and_flags_override_them(shards, tmp_path, capsys):
    (tmp_path / "train.ron").write_text(
        "(learning_rate: 1e-3, training_iterations: 9, evaluation_interval: 3,"
        " evaluation_iterations: 1, contexts_per_batch: 4)"
    )
    (tmp_path / "model.ron").write_text(
        "(vocab_size: 300, embedding_size: 16, context_length: 8, head_count: 2, block_count: 1,"
        " feed_forward_multiplier: 2, embedding_dropout: 0.0, attention_dropout: 0.0,"
        " feed_forward_dropout: 0.0, residual_dropout: 0.0)"
    )
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--data",
            str(shards),
            "--out",
            str(out),
            "--transformer-config",
            str(tmp_path / "model.ron"),
            "--train-config",
            str(tmp_path / "train.ron"),
            "--training-iterations",
            "3",
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    assert code == 0
    config = TrainConfig.load(out / "train_config.ron")
    assert (config.training_iterations, config.learning_rate) == (3, 1e-3)
    assert "3 steps" in capsys.readouterr().out


def test_unknown_config_field_is_a_one_line_error(shards, tmp_path, capsys):
    (tmp_path / "train.ron").write_text(
        "(learning_rate: 1e-3, training_iterations: 9, evaluation_interval: 3,"
        " evaluation_iterations: 1, contexts_per_batch: 4, warmup: 3)"
    )
    code = main(
        [
            "train",
            "--data",
            str(shards),
            "--out",
            str(tmp_path / "run"),
            "--train-config",
            str(tmp_path / "train.ron"),
            "--no-progress",
        ]
    )
    assert code == 2
    assert "unknown field(s) warmup" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_resume_refuses_model_changes(trained_run, capsys):
    code = main(["train", "--resume", str(trained_run), "--embedding-size", "64"])
    assert code == 2
    assert "drop --out and the model flags" in capsys.readouterr().err


def test_resume_with_more_iterations_continues_the_run(shards, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(shards), "--out", str(out), *TINY]) == 0
    assert main(["train", "--resume", str(out), "--training-iterations", "6", "--device", "cpu", "--no-progress"]) == 0
    assert "6 steps" in capsys.readouterr().out
    assert TrainConfig.load(out / "train_config.ron").training_iterations == 6


def test_eval_json_on_shards_and_on_raw_text(trained_run, shards, tmp_path, capsys):
    assert main(["eval", str(trained_run), "--data", str(shards), "--json", "--device", "cpu"]) == 0
    on_shards = json.loads(capsys.readouterr().out)
    held_out = [
        json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines() if '"held_out"' in line
    ][0]
    assert on_shards["tokens"] == held_out["tokens"]
    assert on_shards["loss"] == pytest.approx(held_out["loss"], rel=1e-5)
    text = tmp_path / "story.txt"
    text.write_text("Once upon a time there was a little cat.\n")
    assert main(["eval", str(trained_run), "--data", str(text), "--device", "cpu"]) == 0
    output = capsys.readouterr().out
    text_bytes = sum(len(doc.encode()) for doc in open_corpus(text))
    assert "held-out loss" in output and f"({text_bytes} bytes of text)" in output


def test_plot_writes_a_png(trained_run, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "curves.png"
    assert main(["plot", str(trained_run), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install_it(trained_run, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", str(trained_run)]) == 2
    assert "pip install 'tinygpt[plot]'" in capsys.readouterr().err
