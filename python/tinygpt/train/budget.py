"""A learning-rate schedule planned in time, not steps, for `tinygpt train --max-seconds`.

How many steps fit in S seconds depends on the machine, its load and the model, so a schedule
over steps either stops before its decay or ends long before the budget. This one is a function
of the elapsed fraction of the budget: warm-up, then a decay that reaches its floor exactly
when the budget ends.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from tinygpt.errors import ConfigError

SHAPES = ("warmup_stable_decay", "warmup_cosine")


@dataclass(frozen=True)
class TimeSchedule:
    """Learning rate as a function of the elapsed fraction f in [0, 1] of the training time.

    ``warmup_stable_decay``: linear warm-up over ``warmup_fraction``, ``peak_lr`` until the
    last ``decay_fraction``, then linear decay to ``min_lr`` at f = 1. ``warmup_cosine``:
    warm-up, then a cosine from ``peak_lr`` to ``min_lr`` over the rest (``decay_fraction``
    unused).
    """

    shape: str
    peak_lr: float
    min_lr: float
    warmup_fraction: float
    decay_fraction: float

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ConfigError(f"time schedule: shape must be one of {', '.join(SHAPES)}, got {self.shape!r}")
        if not 0 <= self.min_lr <= self.peak_lr or self.peak_lr <= 0:
            raise ConfigError(
                f"time schedule: need 0 <= min_lr <= peak_lr and peak_lr > 0, got "
                f"min_lr={self.min_lr}, peak_lr={self.peak_lr}"
            )
        for name in ("warmup_fraction", "decay_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"time schedule: {name} must lie in [0, 1], got {getattr(self, name)}")
        if self.shape == "warmup_stable_decay" and self.warmup_fraction + self.decay_fraction > 1:
            raise ConfigError("time schedule: warmup_fraction + decay_fraction exceeds 1")

    def at(self, fraction: float) -> float:
        f = min(max(fraction, 0.0), 1.0)
        if f < self.warmup_fraction:
            # Never exactly zero: the first step would be wasted.
            return self.peak_lr * max(f / self.warmup_fraction, 0.01)
        if self.shape == "warmup_cosine":
            progress = (f - self.warmup_fraction) / max(1.0 - self.warmup_fraction, 1e-9)
            return self.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (self.peak_lr - self.min_lr)
        decay_start = 1.0 - self.decay_fraction
        if f < decay_start or self.decay_fraction == 0:
            return self.peak_lr
        progress = (f - decay_start) / self.decay_fraction
        return self.peak_lr + progress * (self.min_lr - self.peak_lr)


@dataclass(frozen=True)
class TimePlan:
    """A run planned in time: ``seconds`` of wall clock for everything (training, periodic
    estimates, checkpoints, the final held-out evaluation), ``evaluations`` estimates and
    checkpoints spread evenly over it, and the learning-rate schedule."""

    seconds: float
    schedule: TimeSchedule
    evaluations: int = 4

    def __post_init__(self) -> None:
        if not math.isfinite(self.seconds) or self.seconds <= 0:
            raise ConfigError(f"time budget must be a positive number of seconds, got {self.seconds}")
        if self.evaluations < 1:
            raise ConfigError(f"time plan: evaluations must be at least 1, got {self.evaluations}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimePlan:
        try:
            return cls(
                seconds=data["seconds"], schedule=TimeSchedule(**data["schedule"]), evaluations=data["evaluations"]
            )
        except (KeyError, TypeError) as error:
            raise ConfigError(f"time plan: malformed record ({error})") from None
