"""`tinygpt.train.train`: the run directory it writes, learning, repeatability, and bad input."""

from __future__ import annotations

import pytest
import torch

from tests.train.support import (  # noqa: F401 (one_torch_thread and shards are fixtures)
    metric_values,
    one_torch_thread,
    shards,
    tiny_model_config,
    tiny_train_config,
)
from tinygpt.errors import ConfigError, DataError
from tinygpt.run import load_run
from tinygpt.run.layout import CheckpointIndex, RunLayout
from tinygpt.train import train
from tinygpt.train.metrics import read_metrics


def run_tiny(shards, out, **changes):
    model_changes = changes.pop("model", {})
    seed = changes.pop("seed", 0)
    return train(
        shards,
        out,
        tiny_model_config(**model_changes),
        tiny_train_config(**changes),
        device="cpu",
        precision="fp32",
        seed=seed,
        show_progress=False,
    )


def test_a_run_directory_is_self_contained_and_loads_back(shards, tmp_path):
    summary = run_tiny(shards, tmp_path / "run", checkpoints_kept=1)
    layout = RunLayout.of(tmp_path / "run")
    for path in (layout.tokenizer, layout.transformer_config, layout.train_config, layout.info, layout.metrics):
        assert path.is_file(), path
    assert summary.steps == 12 and summary.tokens_seen == 12 * 8 * 16
    index = CheckpointIndex.read(layout)
    assert index.last == "step_00000012" == summary.last_checkpoint
    assert set(index.kept) == {index.best, index.last}
    kinds = [r["kind"] for r in read_metrics(layout.metrics)]
    assert kinds.count("train") == 12 and kinds.count("eval") == 3 and kinds[-1] == "held_out"
    model, tokenizer = load_run(layout.root, "last")
    assert not model.training
    assert tokenizer.fingerprint() == summary_fingerprint(layout)
    ids = model.generate(torch.tensor([[tokenizer.eot_id]]), 5, greedy=True)
    assert ids.shape == (1, 6)


def summary_fingerprint(layout):
    import json

    return json.loads(layout.info.read_text())["tokenizer_fingerprint"]


def test_training_lowers_the_loss_and_reports_bits_per_byte(shards, tmp_path):
    summary = run_tiny(shards, tmp_path / "run", training_iterations=60, evaluation_interval=30, log_interval=10)
    losses = [loss for _, loss in metric_values(tmp_path / "run", "train", "loss")]
    assert losses[-1] < losses[0] - 0.3
    held_out = summary.held_out
    assert held_out.tokens > 0 and held_out.text_bytes > 0
    assert held_out.bits_per_byte == pytest.approx(
        held_out.tokens * held_out.loss / torch.log(torch.tensor(2.0)).item() / held_out.text_bytes
    )


def test_same_seed_is_bit_for_bit_repeatable_on_cpu(shards, tmp_path):
    run_tiny(shards, tmp_path / "a", seed=3)
    run_tiny(shards, tmp_path / "b", seed=3)
    run_tiny(shards, tmp_path / "c", seed=4)
    a, b, c = (metric_values(tmp_path / name, "train", "loss") for name in "abc")
    assert a == b and a != c
    weights = "checkpoints/step_00000012/model.safetensors"
    assert (tmp_path / "a" / weights).read_bytes() == (tmp_path / "b" / weights).read_bytes()


def test_gradient_accumulation_and_warmup_cosine_run(shards, tmp_path):
    summary = run_tiny(
        shards,
        tmp_path / "run",
        grad_accumulation=2,
        learning_rate=None,
        schedule="warmup_cosine",
        min_learning_rate=1e-4,
        max_learning_rate=3e-3,
        warmup_iterations=3,
    )
    rates = [lr for _, lr in metric_values(tmp_path / "run", "train", "lr")]
    assert rates[:3] == pytest.approx([1e-3, 2e-3, 3e-3])
    assert rates[-1] < rates[3]
    assert summary.steps == 12


def test_max_seconds_stops_cleanly_with_a_checkpoint(shards, tmp_path):
    summary = train(
        shards,
        tmp_path / "run",
        tiny_model_config(),
        tiny_train_config(training_iterations=10_000),
        device="cpu",
        precision="fp32",
        show_progress=False,
        max_seconds=0.5,
    )
    assert summary.stopped_early and not summary.interrupted
    assert 0 < summary.steps < 10_000
    assert summary.last_checkpoint == f"step_{summary.steps:08d}"
    assert summary.held_out is not None


def test_vocab_smaller_than_the_tokenizer_fails_before_the_run_exists(shards, tmp_path):
    with pytest.raises(ConfigError, match="vocab_size 200 is smaller than the tokenizer's 300"):
        run_tiny(shards, tmp_path / "run", model={"vocab_size": 200})
    assert not (tmp_path / "run").exists()


def test_context_longer_than_the_stream_fails_before_the_run_exists(shards, tmp_path):
    """Stream sampling needs one full window; document sampling pads short documents instead."""
    with pytest.raises(DataError, match="fewer than one window"):
        run_tiny(shards, tmp_path / "run", sampling="stream", model={"context_length": 100_000})
    assert not (tmp_path / "run").exists()


def test_an_existing_run_is_never_overwritten(shards, tmp_path):
    run_tiny(shards, tmp_path / "run", training_iterations=2, evaluation_interval=2)
    with pytest.raises(ConfigError, match="already holds a run; continue it with --resume"):
        run_tiny(shards, tmp_path / "run")


def test_batch_not_divisible_by_accumulation_times_processes_is_rejected(shards, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(ConfigError, match="multiple of grad_accumulation x processes"):
        run_tiny(shards, tmp_path / "run")


@pytest.mark.parametrize("zero_init", [True, False])
def test_zero_init_projections_start_the_run_with_zero_output_matrices(shards, tmp_path, zero_init):
    """One step at a negligible learning rate leaves the starting weights as they were."""
    run_tiny(
        shards,
        tmp_path / "run",
        training_iterations=1,
        learning_rate=1e-12,
        zero_init_projections=zero_init,
        model={"positions": "rotary"},
    )
    model, _ = load_run(tmp_path / "run", "last")
    outputs = [
        m.weight.abs().max().item() for b in model.blocks for m in (b.attention.projection, b.feed_forward.output)
    ]
    assert (max(outputs) < 1e-9) == zero_init
