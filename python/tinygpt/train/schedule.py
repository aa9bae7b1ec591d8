"""Learning-rate schedules: a pure function of the step, so resuming needs no scheduler state."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from tinygpt.train.config import TrainConfig


class Schedule(Protocol):
    def __call__(self, step: int) -> float:
        """Learning rate of optimizer step ``step`` (0-based)."""


@dataclass(frozen=True)
class ConstantSchedule:
    """gpt-rs's default: one learning rate throughout."""

    learning_rate: float

    def __call__(self, step: int) -> float:
        return self.learning_rate


@dataclass(frozen=True)
class WarmupCosineSchedule:
    """Linear warm-up to ``max_lr`` over ``warmup`` steps, then a cosine decay to ``min_lr``
    at ``total`` steps (gpt-rs's variant; nanoGPT's shape)."""

    min_lr: float
    max_lr: float
    warmup: int
    total: int

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.max_lr * (step + 1) / self.warmup
        decay_steps = max(1, self.total - self.warmup)
        progress = min(1.0, (step - self.warmup) / decay_steps)
        return self.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (self.max_lr - self.min_lr)


def schedule_for(config: TrainConfig) -> Schedule:
    if config.schedule == "constant":
        return ConstantSchedule(config.peak_learning_rate)
    return WarmupCosineSchedule(
        min_lr=config.min_learning_rate or 0.0,
        max_lr=config.peak_learning_rate,
        warmup=config.warmup_iterations or 0,
        total=config.training_iterations,
    )
