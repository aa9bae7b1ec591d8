"""Divergence: a non-finite loss or weight stops training before it can reach a checkpoint.

Training on after a NaN only burns time and, worse, lets NaN weights become the "best"
checkpoint; stopping at once keeps every checkpoint written so far good.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tinygpt.errors import TinyGPTError


class TrainingDiverged(TinyGPTError):
    """The loss or the weights stopped being finite numbers."""


def require_finite_loss(
    value: float, *, what: str, step: int, learning_rate: float | None, last_checkpoint: str | None, run: object
) -> None:
    """Raise TrainingDiverged naming the step, the value and what the user still has."""
    if math.isfinite(value):
        return
    raise TrainingDiverged(_message(f"{what} is {value}", step, learning_rate, last_checkpoint, run))


def require_finite_weights(model: nn.Module, *, step: int, last_checkpoint: str | None, run: object) -> None:
    """Checked before each checkpoint, so a run whose loss was not logged since it diverged
    still never saves non-finite weights."""
    with torch.no_grad():
        finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
    if not finite:
        raise TrainingDiverged(_message("the weights hold NaN or infinity", step, None, last_checkpoint, run))


def _message(problem: str, step: int, learning_rate: float | None, last_checkpoint: str | None, run: object) -> str:
    rate = "" if learning_rate is None else f" (learning rate {learning_rate:g})"
    kept = (
        f"the last good checkpoint {last_checkpoint} is kept in {run}"
        if last_checkpoint
        else "no checkpoint was written before it"
    )
    return (
        f"training diverged at step {step}: {problem}{rate}; {kept}. Lower --learning-rate "
        "or set --grad-clip (e.g. 1.0), then start again"
    )
