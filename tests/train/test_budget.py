"""The time-planned schedule and pace of budget mode: the decay ends exactly at the budget,
estimates are spread over it, and a resumed run continues the same clock."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygpt.errors import ConfigError
from tinygpt.train.budget import TimePlan, TimeSchedule
from tinygpt.train.pace import TimePace


def wsd(**changes) -> TimeSchedule:
    fields = {
        "shape": "warmup_stable_decay",
        "peak_lr": 3e-3,
        "min_lr": 3e-4,
        "warmup_fraction": 0.1,
        "decay_fraction": 0.4,
    }
    return TimeSchedule(**{**fields, **changes})


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_warmup_stable_decay_reaches_its_floor_exactly_at_the_end():
    schedule = wsd()
    assert 0 < schedule.at(0.0) < schedule.at(0.05) < 3e-3
    assert schedule.at(0.1) == schedule.at(0.6) == 3e-3
    assert math.isclose(schedule.at(0.8), (3e-3 + 3e-4) / 2)
    assert math.isclose(schedule.at(1.0), 3e-4)
    assert math.isclose(schedule.at(1.5), 3e-4)


def test_warmup_cosine_over_time_is_half_way_at_the_middle_of_its_decay():
    schedule = wsd(shape="warmup_cosine", warmup_fraction=0.0)
    assert schedule.at(0.0) == 3e-3
    assert math.isclose(schedule.at(0.5), (3e-3 + 3e-4) / 2)
    assert math.isclose(schedule.at(1.0), 3e-4)


@given(
    fraction=st.floats(0, 1),
    later=st.floats(0, 1),
    warmup=st.floats(0, 0.5),
    decay=st.floats(0, 0.5),
    shape=st.sampled_from(["warmup_stable_decay", "warmup_cosine"]),
)
def test_learning_rate_stays_in_bounds_and_never_rises_after_warmup(fraction, later, warmup, decay, shape):
    schedule = wsd(shape=shape, warmup_fraction=warmup, decay_fraction=decay)
    assert 0 < schedule.at(fraction) <= 3e-3
    first, second = sorted((fraction, later))
    if first >= warmup:
        assert schedule.at(second) <= schedule.at(first) + 1e-15


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"shape": "linear"}, "shape must be one of"),
        ({"min_lr": 1e-2}, "min_lr <= peak_lr"),
        ({"warmup_fraction": 1.5}, "warmup_fraction must lie in"),
        ({"warmup_fraction": 0.7}, "exceeds 1"),
    ],
)
def test_bad_schedules_are_refused_by_name(changes, message):
    with pytest.raises(ConfigError, match=message):
        wsd(**changes)


def test_plan_round_trips_and_refuses_malformed_records():
    plan = TimePlan(seconds=240.0, schedule=wsd(), evaluations=4)
    assert TimePlan.from_dict(plan.to_dict()) == plan
    with pytest.raises(ConfigError, match="malformed"):
        TimePlan.from_dict({"seconds": 1.0})
    with pytest.raises(ConfigError, match="positive number of seconds"):
        TimePlan(seconds=0.0, schedule=wsd())


def pace_for(clock: FakeClock, *, seconds: float = 100.0, evaluations: int = 4) -> TimePace:
    plan = TimePlan(seconds=seconds, schedule=wsd(), evaluations=evaluations)
    return TimePace(plan, tokens_per_step=1000, held_out_tokens=10_000, estimate_tokens=2000, clock=clock)


def test_training_ends_early_enough_for_the_final_evaluation_to_fit():
    clock = FakeClock()
    pace = pace_for(clock)
    pace.start(0)
    step = 0
    evaluations = 0
    while not pace.finished(step):
        pace.learning_rate(step)
        clock.now += 0.1  # 10,000 training tokens/s
        step += 1
        if pace.evaluation_due(step):
            evaluations += 1
            pace.evaluated(0.1, 2000)  # forward at 20,000 tokens/s
    # The end costs one step (0.1 s), the last estimate (0.1 s), the held-out set (0.5 s)
    # and a 1 % margin (1 s): training stops at 98.3 s of the 100.
    assert math.isclose(pace.elapsed(), 98.3, abs_tol=0.11)
    assert math.isclose(pace.learning_rate(step), 3e-4, rel_tol=0.01)
    assert evaluations == 3  # the fourth comes with the end of training


def test_a_resumed_pace_continues_the_clock_of_its_checkpoint():
    clock = FakeClock()
    pace = pace_for(clock)
    pace.start(0)
    clock.now += 60.0
    state = pace.state_dict()
    resumed = pace_for(FakeClock())
    resumed.load_state_dict(state)
    resumed.start(500)
    assert math.isclose(resumed.elapsed(), 60.0)
    # No step timed yet in this process: only the 1 % margin is kept back.
    assert resumed.learning_rate(500) == resumed.plan.schedule.at(60.0 / 99.0)


def test_every_rank_follows_the_agreed_fraction_not_its_own_clock():
    """Under torchrun ``agree`` averages the ranks' fractions; a rank whose clock says the
    budget is spent keeps going while the agreed fraction says otherwise, and vice versa."""
    clock = FakeClock()
    plan = TimePlan(seconds=100.0, schedule=wsd(), evaluations=4)
    ahead = TimePace(
        plan, tokens_per_step=1000, held_out_tokens=0, estimate_tokens=0, clock=clock, agree=lambda own: 0.9
    )
    behind = TimePace(
        plan, tokens_per_step=1000, held_out_tokens=0, estimate_tokens=0, clock=clock, agree=lambda own: 1.0
    )
    ahead.start(0)
    behind.start(0)
    clock.now += 200.0
    assert not ahead.finished(1) and ahead.learning_rate(1) == plan.schedule.at(0.9)
    clock.now -= 199.0
    assert behind.finished(2)
