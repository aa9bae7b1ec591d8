"""What drives a run forward: a step count (gpt-rs's configs) or a time budget.

The training loop asks its pace for the learning rate of each step, whether an estimate and
checkpoint are due, and whether training is over; it never looks at the clock itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from tinygpt.train.budget import TimePlan
from tinygpt.train.config import TrainConfig
from tinygpt.train.schedule import schedule_for

# Until an estimate has been timed, assume a forward pass costs half a training step per token
# (a third in FLOPs; more in practice on a CPU, where the backward pass vectorises better).
_FORWARD_SHARE = 1 / 2
# Time kept back for the final checkpoint and the bookkeeping around the last evaluation.
_FINAL_MARGIN_FRACTION = 0.01


class Pace(Protocol):
    @property
    def total_steps(self) -> int | None:
        """The step count when known in advance (for the progress bar)."""

    def start(self, step: int) -> None: ...
    def learning_rate(self, step: int) -> float: ...
    def evaluation_due(self, step: int) -> bool: ...
    def evaluated(self, seconds: float, tokens: int) -> None: ...
    def finished(self, step: int) -> bool: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class StepPace:
    """gpt-rs's run: ``training_iterations`` steps, an estimate every ``evaluation_interval``."""

    def __init__(self, config: TrainConfig) -> None:
        self.schedule = schedule_for(config)
        self.total_steps = config.training_iterations
        self.interval = config.evaluation_interval

    def start(self, step: int) -> None:
        """Nothing to start: a step count needs no clock."""

    def learning_rate(self, step: int) -> float:
        return self.schedule(step)

    def evaluation_due(self, step: int) -> bool:
        return step % self.interval == 0 or self.finished(step)

    def evaluated(self, seconds: float, tokens: int) -> None:
        """A step count does not care how long estimates take."""

    def finished(self, step: int) -> bool:
        return step >= self.total_steps

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """The step count alone (restored by the trainer) says where the schedule is."""


class TimePace:
    """A run planned in time: the schedule follows the elapsed fraction of the training time,
    which is the budget less the predicted cost of the final held-out evaluation, so that
    evaluation ends inside the budget too. Periodic estimates and checkpoints spend time on
    the same clock, so the plan needs no step count.

    The fraction is read once per step. Under torchrun ``agree`` averages it over the ranks
    (one tiny all-reduce a step), so every rank uses the same learning rate, evaluates at the
    same steps and stops at the same step."""

    def __init__(
        self,
        plan: TimePlan,
        *,
        tokens_per_step: int,
        held_out_tokens: int,
        estimate_tokens: int,
        clock: Callable[[], float] | None = None,
        agree: Callable[[float], float] | None = None,
    ) -> None:
        self.plan = plan
        self.total_steps: int | None = None
        self.tokens_per_step = tokens_per_step
        self.held_out_tokens = held_out_tokens
        self.estimate_tokens = estimate_tokens
        self.clock = clock or time.perf_counter  # looked up now: a sweep may swap it
        self._elapsed_before = 0.0
        self._origin: float | None = None
        self._start_step = 0
        self._evaluations_done = 0
        self._forward_tokens_per_second: float | None = None
        self._over = False
        self._agree = agree or (lambda value: value)
        self._fraction_of_step: tuple[int, float] | None = None

    def start(self, step: int) -> None:
        self._origin = self.clock()
        self._start_step = step

    def elapsed(self) -> float:
        if self._origin is None:
            raise RuntimeError("TimePace.start() was not called")
        return self._elapsed_before + self.clock() - self._origin

    def training_seconds(self, step: int) -> float:
        """The budget less what the end is predicted to take: the step that overruns, the last
        estimate and the final held-out evaluation. Forward speed comes from the last timed
        estimate, or before one from the training throughput so far in this process."""
        reserve = self.plan.seconds * _FINAL_MARGIN_FRACTION
        steps = step - self._start_step
        since_start = self.clock() - (self._origin or 0.0)
        if steps > 0 and since_start > 0:
            training_rate = steps * self.tokens_per_step / since_start
            forward_rate = self._forward_tokens_per_second or training_rate / _FORWARD_SHARE
            reserve += (
                self.tokens_per_step / training_rate + (self.estimate_tokens + self.held_out_tokens) / forward_rate
            )
        return max(self.plan.seconds - reserve, self.plan.seconds * 0.5)

    def fraction(self, step: int) -> float:
        """Elapsed share of the training time after ``step`` steps (1 or more: it is over),
        read when first asked for that step."""
        if self._fraction_of_step is None or self._fraction_of_step[0] != step:
            value = self._agree(self.elapsed() / self.training_seconds(step))
            self._fraction_of_step = (step, value)
        return self._fraction_of_step[1]

    def learning_rate(self, step: int) -> float:
        return self.plan.schedule.at(self.fraction(step))

    def evaluation_due(self, step: int) -> bool:
        """Estimates at k/evaluations of the time for k < evaluations; the last one comes with
        the end of training (the loop evaluates when ``finished``)."""
        next_mark = self._evaluations_done + 1
        fraction = self.fraction(step)
        if next_mark >= self.plan.evaluations or fraction < next_mark / self.plan.evaluations:
            return False
        self._evaluations_done = min(int(fraction * self.plan.evaluations), self.plan.evaluations - 1)
        return True

    def evaluated(self, seconds: float, tokens: int) -> None:
        """An estimate over ``tokens`` took ``seconds``: the speed of the final evaluation."""
        if seconds > 0:
            self._forward_tokens_per_second = tokens / seconds

    def finished(self, step: int) -> bool:
        # Once over, over: the reserve (and so the fraction) shrinks when an estimate is timed.
        self._over = self._over or self.fraction(step) >= 1.0
        return self._over

    def state_dict(self) -> dict[str, Any]:
        return {"elapsed_seconds": self.elapsed(), "evaluations_done": self._evaluations_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the plan's clock where the checkpoint left it."""
        self._elapsed_before = float(state.get("elapsed_seconds", 0.0))
        self._evaluations_done = int(state.get("evaluations_done", 0))
