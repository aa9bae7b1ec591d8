"""`TrainConfig`: gpt-rs's `train_config.ron` (either schedule) plus tinygpt's own knobs.

gpt-rs's files load as they are: the constant schedule has ``learning_rate``, the
warmup-cosine variant ``min_learning_rate``, ``max_learning_rate`` and ``warmup_iterations``.
``schedule`` names the schedule explicitly; when absent it is inferred from those fields.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

from tinygpt.config_file import read_config_file, write_config_file
from tinygpt.errors import ConfigError
from tinygpt.gptrs.config import TRAIN_CONFIG_FIELDS

SCHEDULES = ("constant", "warmup_cosine")
SAMPLINGS = ("document", "stream")
OPTIMIZERS = ("adamw", "muon")
DEFAULT_LEARNING_RATE = 2e-4  # gpt-rs's train_config.ron
_CONSTANT_FIELDS = ("learning_rate",)
_COSINE_FIELDS = ("min_learning_rate", "max_learning_rate", "warmup_iterations")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (defaults: gpt-rs's constant-LR config, 2e-4).

    ``contexts_per_batch`` is the global batch of one optimizer step; it is split over
    ``grad_accumulation`` micro-batches and, under torchrun, over the processes, so the
    optimisation is the same whatever the hardware. ``zero_init_projections`` starts every
    block's output matrices at zero (budget mode's start; see ``GPT.zero_output_projections``).
    """

    training_iterations: int = 60000
    evaluation_interval: int = 500
    evaluation_iterations: int = 5
    contexts_per_batch: int = 64
    learning_rate: float | None = None
    min_learning_rate: float | None = None
    max_learning_rate: float | None = None
    warmup_iterations: int | None = None
    schedule: str | None = None
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    grad_accumulation: int = 1
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    checkpoints_kept: int = 3
    sampling: str = "document"
    log_interval: int = 10
    optimizer: str = "adamw"
    zero_init_projections: bool = False

    def __post_init__(self) -> None:
        for name in (
            "training_iterations",
            "evaluation_interval",
            "evaluation_iterations",
            "contexts_per_batch",
            "grad_accumulation",
            "checkpoints_kept",
            "log_interval",
        ):
            _require_int(self, name, minimum=1)
        for name in ("weight_decay", "grad_clip"):
            _require_float(self, name, minimum=0.0)
        for name in ("adam_beta1", "adam_beta2"):
            value = _require_float(self, name, minimum=0.0)
            if value >= 1.0:
                raise ConfigError(f"train config: {name} must be below 1, got {value}")
        if not isinstance(self.zero_init_projections, bool):
            raise ConfigError(
                f"train config: zero_init_projections must be true or false, got {self.zero_init_projections!r}"
            )
        if self.sampling not in SAMPLINGS:
            raise ConfigError(f"train config: sampling must be one of {', '.join(SAMPLINGS)}, got {self.sampling!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"train config: optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        object.__setattr__(self, "schedule", self._resolve_schedule())
        if self.contexts_per_batch % self.grad_accumulation:
            raise ConfigError(
                f"train config: contexts_per_batch ({self.contexts_per_batch}) must be a multiple "
                f"of grad_accumulation ({self.grad_accumulation})"
            )

    def _resolve_schedule(self) -> str:
        constant_given = [f for f in _CONSTANT_FIELDS if getattr(self, f) is not None]
        cosine_given = [f for f in _COSINE_FIELDS if getattr(self, f) is not None]
        schedule = self.schedule
        if schedule is None:
            schedule = "warmup_cosine" if cosine_given and not constant_given else "constant"
        if schedule not in SCHEDULES:
            raise ConfigError(f"train config: schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
        needed, other = (_CONSTANT_FIELDS, cosine_given) if schedule == "constant" else (_COSINE_FIELDS, constant_given)
        if schedule == "constant" and self.learning_rate is None:
            object.__setattr__(self, "learning_rate", DEFAULT_LEARNING_RATE)
        missing = [f for f in needed if getattr(self, f) is None]
        if missing:
            raise ConfigError(f"train config: the {schedule} schedule needs {', '.join(missing)}")
        if other:
            raise ConfigError(f"train config: {', '.join(other)} do not belong to the {schedule} schedule")
        for name in needed:
            if name == "warmup_iterations":
                _require_int(self, name, minimum=0)
            elif _require_float(self, name, minimum=0.0) == 0.0 and name != "min_learning_rate":
                raise ConfigError(f"train config: {name} must be positive")
        if (
            schedule == "warmup_cosine"
            and _require_int(self, "warmup_iterations", minimum=0) > self.training_iterations
        ):
            raise ConfigError(
                f"train config: warmup_iterations ({self.warmup_iterations}) exceeds "
                f"training_iterations ({self.training_iterations})"
            )
        return schedule

    @property
    def peak_learning_rate(self) -> float:
        return _require_float(
            self, "learning_rate" if self.schedule == "constant" else "max_learning_rate", minimum=0.0
        )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "train config") -> TrainConfig:
        """Build from a mapping, rejecting unknown fields by name (typos must not pass)."""
        unknown = sorted(set(data) - set(cls.field_names()))
        if unknown:
            raise ConfigError(
                f"{source}: unknown field(s) {', '.join(unknown)}; known fields: {', '.join(cls.field_names())}"
            )
        try:
            return cls(**data)
        except ConfigError as error:
            raise ConfigError(f"{source}: {str(error).removeprefix('train config: ')}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a `.ron` (gpt-rs's format) or `.json` train config; missing fields are errors."""
        optional = {f: None for f in cls.field_names() if f not in TRAIN_CONFIG_FIELDS}
        data = read_config_file(path, required=TRAIN_CONFIG_FIELDS, optional=optional, what="train config")
        given = {k: v for k, v in data.items() if v is not None or k not in optional}
        if not set(given) & {*_CONSTANT_FIELDS, *_COSINE_FIELDS}:
            raise ConfigError(
                f"{path}: missing field learning_rate (or min_learning_rate, max_learning_rate "
                "and warmup_iterations for the warmup-cosine schedule)"
            )
        return cls.from_dict(given, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Every field; the unused schedule's learning-rate fields are left out."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `.ron` (gpt-rs's format) or `.json` by suffix, atomically."""
        write_config_file(self.to_dict(), path, what="train config")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes``; switching schedule drops the old schedule's fields."""
        merged = {**self.to_dict(), **changes}
        if changes.get("schedule") not in (None, self.schedule):
            old_fields = _CONSTANT_FIELDS if self.schedule == "constant" else _COSINE_FIELDS
            merged = {k: v for k, v in merged.items() if k not in old_fields or k in changes}
        return TrainConfig.from_dict(merged)


def _require_int(config: TrainConfig, name: str, *, minimum: int) -> int:
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"train config: {name} must be an integer >= {minimum}, got {value!r}")
    return value


def _require_float(config: TrainConfig, name: str, *, minimum: float) -> float:
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < minimum:
        raise ConfigError(f"train config: {name} must be a number >= {minimum}, got {value!r}")
    return float(value)
