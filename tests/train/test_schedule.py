"""Learning-rate schedules: constant, and linear warm-up then cosine decay to the minimum."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from tinygpt.train.config import TrainConfig
from tinygpt.train.schedule import ConstantSchedule, WarmupCosineSchedule, schedule_for


def test_constant_schedule_never_changes():
    schedule = schedule_for(TrainConfig(learning_rate=3e-4))
    assert isinstance(schedule, ConstantSchedule)
    assert {schedule(step) for step in (0, 1, 59999)} == {3e-4}


def test_warmup_cosine_shape():
    config = TrainConfig(
        min_learning_rate=1e-5, max_learning_rate=2e-4, warmup_iterations=100, training_iterations=1100
    )
    schedule = schedule_for(config)
    assert isinstance(schedule, WarmupCosineSchedule)
    assert math.isclose(schedule(0), 2e-4 / 100)
    assert math.isclose(schedule(99), 2e-4)
    assert math.isclose(schedule(100), 2e-4)
    assert math.isclose(schedule(600), (1e-5 + 2e-4) / 2)
    assert math.isclose(schedule(1100), 1e-5)
    assert math.isclose(schedule(5000), 1e-5)


@given(
    warmup=st.integers(0, 50),
    decay=st.integers(1, 200),
    low=st.floats(0, 1e-3),
    extra=st.floats(1e-6, 1e-2),
)
def test_warmup_cosine_stays_between_bounds_and_decays_monotonically(warmup, decay, low, extra):
    schedule = WarmupCosineSchedule(min_lr=low, max_lr=low + extra, warmup=warmup, total=warmup + decay)
    values = [schedule(step) for step in range(warmup, warmup + decay + 1)]
    assert all(low - 1e-12 <= v <= low + extra + 1e-12 for v in values)
    assert all(a >= b - 1e-15 for a, b in zip(values, values[1:]))
    warm = [schedule(step) for step in range(warmup)]
    assert all(a < b for a, b in zip(warm, warm[1:]))
