"""`tinygpt train --data SHARDS --out RUN --max-seconds S` with no config: budget mode plans the
recipe, follows a schedule in time that decays to its floor at the end, spreads its estimates
over the budget and ends with its best model scored on the held-out split."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from tinygpt.cli import main
from tinygpt.data.sources import embedded_corpus_path
from tinygpt.model.config import GPTConfig
from tinygpt.run.layout import RunLayout
from tinygpt.train.budget import TimePlan
from tinygpt.train.config import TrainConfig
from tinygpt.train.metrics import read_metrics
from tinygpt.train.recipe import CPU_TOKENS_PER_BATCH, measure_training_flops, plan_recipe

# Flags shrink the recipe's model so the test takes seconds; the schedule stays the recipe's.
SMALL_MODEL = [
    "--embedding-size",
    "32",
    "--block-count",
    "1",
    "--head-count",
    "2",
    "--context-length",
    "16",
    "--device",
    "cpu",
    "--threads",
    "1",
    "--no-progress",
]
SMALL = [*SMALL_MODEL, "--contexts-per-batch", "8"]


@pytest.fixture(scope="module")
def budget_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("budget")
    assert (
        main(["tokenize", "--data", str(embedded_corpus_path()), "--vocab-size", "300", "--out", str(root / "shards")])
        == 0
    )
    previous = torch.get_num_threads()
    try:
        assert (
            main(["train", "--data", str(root / "shards"), "--out", str(root / "run"), "--max-seconds", "4", *SMALL])
            == 0
        )
    finally:
        torch.set_num_threads(previous)
    return root / "run"


def test_budget_mode_records_its_plan_and_takes_flags_on_top(budget_run):
    layout = RunLayout.of(budget_run)
    plan = TimePlan.from_dict(json.loads(layout.info.read_text())["time_plan"])
    assert plan.seconds == 4
    model = GPTConfig.load(layout.transformer_config)
    assert model.embedding_size == 32  # the flag
    assert model.residual_dropout == 0.0  # the recipe
    assert model.positions == "rotary"
    assert TrainConfig.load(layout.train_config).zero_init_projections


def test_a_window_set_by_flag_keeps_the_recipes_tokens_per_batch(tmp_path, budget_run):
    shards = budget_run.parent / "shards"
    previous = torch.get_num_threads()
    try:
        assert (
            main(["train", "--data", str(shards), "--out", str(tmp_path / "run"), "--max-seconds", "2", *SMALL_MODEL])
            == 0
        )
    finally:
        torch.set_num_threads(previous)
    config = TrainConfig.load(tmp_path / "run" / "train_config.ron")
    assert config.contexts_per_batch * 16 == CPU_TOKENS_PER_BATCH  # one thread, windows of 16


def test_schedule_follows_the_clock_and_decays_to_its_floor(budget_run):
    plan = TimePlan.from_dict(json.loads(RunLayout.of(budget_run).info.read_text())["time_plan"])
    records = read_metrics(RunLayout.of(budget_run).metrics)
    rates = [r["lr"] for r in records if r["kind"] == "train"]
    assert max(rates) <= plan.schedule.peak_lr
    # The last logged step lies in the final stretch of the decay.
    assert rates[-1] < plan.schedule.peak_lr * 0.5
    evaluations = [r for r in records if r["kind"] == "eval"]
    assert len(evaluations) == plan.evaluations
    held_out = [r for r in records if r["kind"] == "held_out"]
    assert len(held_out) == 1 and held_out[0]["bits_per_byte"] > 0


def test_the_run_ends_with_its_last_checkpoint_as_the_best_whatever_the_estimates_say(budget_run):
    records = read_metrics(RunLayout.of(budget_run).metrics)
    evaluations = {r["step"]: r["val_loss"] for r in records if r["kind"] == "eval"}
    index = json.loads((budget_run / "checkpoints" / "index.json").read_text())
    assert index["last"] == f"step_{max(evaluations):08d}"
    assert index["best"] == index["last"]
    assert index["best"] in index["kept"]


def test_recipe_grows_the_model_with_the_budget_and_the_device():
    small = plan_recipe(60, vocab_size=2048, device="cpu", flops_per_second=5e10)
    large = plan_recipe(3600, vocab_size=2048, device="cuda", flops_per_second=1e14)
    assert small.model.embedding_size < large.model.embedding_size
    assert small.model.residual_dropout == 0.0
    assert small.threads is not None and small.threads >= 1 and large.threads is None
    assert small.plan.seconds == 60


def test_the_model_never_shrinks_as_the_budget_grows():
    """Each step of the ladder is taken once the budget's arithmetic allows it, never undone."""
    widths = [
        plan_recipe(seconds, vocab_size=2048, device="cpu", flops_per_second=1.5e11).model.embedding_size
        for seconds in (60, 240, 600, 1800, 7200, 36000)
    ]
    assert widths == sorted(widths) and widths[0] < widths[-1]


def test_speed_probe_reports_a_throughput():
    flops = measure_training_flops("cpu", seconds=0.03, windows=3)
    assert math.isfinite(flops) and flops > 1e8  # any CPU multiplies faster than 0.1 GFLOP/s
