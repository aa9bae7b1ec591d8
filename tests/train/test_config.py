"""TrainConfig: gpt-rs's train_config.ron files load as they are; mistakes are named."""

from __future__ import annotations

import pytest

from tests.reference.gptrs_files import TRAIN_CONFIG, WARMUP_COSINE_TRAIN_CONFIG
from tinygpt.errors import ConfigError
from tinygpt.train.config import TrainConfig


def write(tmp_path, text, name="train_config.ron"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_gpt_rs_constant_config_loads_as_is(tmp_path):
    config = TrainConfig.load(write(tmp_path, TRAIN_CONFIG))
    assert config.schedule == "constant"
    assert (config.learning_rate, config.training_iterations, config.contexts_per_batch) == (2e-4, 60000, 64)
    assert (config.weight_decay, config.grad_clip, config.grad_accumulation) == (0.1, 1.0, 1)


def test_gpt_rs_warmup_cosine_variant_is_inferred(tmp_path):
    config = TrainConfig.load(write(tmp_path, WARMUP_COSINE_TRAIN_CONFIG))
    assert config.schedule == "warmup_cosine"
    assert (config.min_learning_rate, config.max_learning_rate, config.warmup_iterations) == (1e-5, 2e-4, 3000)
    assert config.learning_rate is None


def test_explicit_schedule_must_have_its_fields(tmp_path):
    text = TRAIN_CONFIG.replace("(\n", '(\n    schedule: "warmup_cosine",\n')
    with pytest.raises(ConfigError, match="warmup_cosine schedule needs min_learning_rate"):
        TrainConfig.load(write(tmp_path, text))


@pytest.mark.parametrize("name", ["train_config.ron", "train_config.json"])
def test_save_and_load_round_trip(tmp_path, name):
    config = TrainConfig(
        min_learning_rate=0.0,
        max_learning_rate=1e-3,
        warmup_iterations=10,
        training_iterations=100,
        grad_accumulation=2,
        checkpoints_kept=1,
        zero_init_projections=True,
    )
    config.save(tmp_path / name)
    assert TrainConfig.load(tmp_path / name) == config


def test_unknown_field_is_named_with_the_file(tmp_path):
    path = write(tmp_path, TRAIN_CONFIG.replace("learning_rate", "learnig_rate"))
    with pytest.raises(ConfigError, match=r"train_config\.ron.*learnig_rate"):
        TrainConfig.load(path)


def test_missing_required_field_is_named(tmp_path):
    path = write(tmp_path, TRAIN_CONFIG.replace("    contexts_per_batch: 64,\n", ""))
    with pytest.raises(ConfigError, match="missing field.*contexts_per_batch"):
        TrainConfig.load(path)


def test_file_without_any_learning_rate_is_rejected(tmp_path):
    path = write(tmp_path, TRAIN_CONFIG.replace("    learning_rate: 2e-4,\n", ""))
    with pytest.raises(ConfigError, match="missing field learning_rate"):
        TrainConfig.load(path)


def test_mixing_both_schedules_fields_is_rejected():
    with pytest.raises(ConfigError, match="do not belong to the constant schedule"):
        TrainConfig(learning_rate=1e-3, max_learning_rate=1e-3, schedule="constant")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"contexts_per_batch": 0}, "contexts_per_batch must be an integer >= 1"),
        ({"training_iterations": 2.5}, "training_iterations must be an integer"),
        ({"grad_clip": -1.0}, "grad_clip must be a number >= 0"),
        ({"adam_beta2": 1.0}, "adam_beta2 must be below 1"),
        ({"sampling": "random"}, "sampling must be one of"),
        ({"zero_init_projections": 1}, "zero_init_projections must be true or false"),
        ({"schedule": "linear"}, "schedule must be one of"),
        ({"contexts_per_batch": 10, "grad_accumulation": 3}, "multiple of grad_accumulation"),
    ],
)
def test_invalid_values_are_rejected_with_the_field_name(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_defaults_are_gpt_rs_constant_config():
    config = TrainConfig()
    assert config.schedule == "constant" and config.learning_rate == 2e-4
    assert config.peak_learning_rate == 2e-4


def test_replace_switching_schedule_drops_the_old_fields():
    config = TrainConfig(learning_rate=1e-3)
    cosine = config.replace(
        schedule="warmup_cosine", min_learning_rate=1e-5, max_learning_rate=1e-3, warmup_iterations=5
    )
    assert cosine.learning_rate is None and cosine.schedule == "warmup_cosine"
    assert config.replace(training_iterations=7).training_iterations == 7
