"""The model's configuration, kept free of torch so that the CLI (which builds a flag for
every field) and config tooling start without importing it."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from tinygpt.config_file import config_suffix, read_config_file, write_config_file
from tinygpt.errors import ConfigError
from tinygpt.gptrs.config import TRANSFORMER_CONFIG_FIELDS

# "gelu_new" is the tanh approximation of GELU that GPT-2 uses (transformers' name for it).
ACTIVATIONS = ("relu", "gelu", "gelu_new")
# "learned": a table of position embeddings added to the tokens (gpt-rs, GPT-2); "rotary": queries
# and keys rotated by their position in every attention layer (RoFormer's rotary embedding).
POSITIONS = ("learned", "rotary")
# The rotary angles' wavelengths run from 2 pi up to 2 pi x ROTARY_BASE positions; GPT-NeoX's
# default, which transformers assumes when a config names none.
ROTARY_BASE = 10_000.0


@dataclass
class GPTConfig:
    """Model shape and regularisation; field names and defaults are gpt-rs's (≈2.1 M params).

    ``activation``, ``tie_weights``, ``bias``, ``layer_norm_epsilon`` and ``feed_forward_size``
    go beyond the original and default to it; with them a GPT-2 checkpoint is representable
    (``feed_forward_size`` is the hidden width when it is not a multiple of the embedding).
    ``positions`` "rotary" replaces the learned position table with rotary embeddings (budget
    mode's choice; such a model exports to transformers as GPT-NeoX, not GPT-2).

    >>> config = GPTConfig()
    >>> config.vocab_size, config.context_length, config.head_size, config.hidden_size
    (2048, 64, 32, 512)
    >>> GPTConfig(embedding_size=100, head_count=3)
    Traceback (most recent call last):
      ...
    tinygpt.errors.ConfigError: GPTConfig.embedding_size (100) must be a multiple of head_count (3)
    """

    vocab_size: int = 2048
    embedding_size: int = 128
    context_length: int = 64
    head_count: int = 4
    block_count: int = 8
    feed_forward_multiplier: int = 4
    embedding_dropout: float = 0.05
    attention_dropout: float = 0.05
    feed_forward_dropout: float = 0.05
    residual_dropout: float = 0.05
    activation: str = "relu"
    tie_weights: bool = False
    bias: bool = True
    layer_norm_epsilon: float = 1e-5
    feed_forward_size: int | None = None
    positions: str = "learned"

    def __post_init__(self) -> None:
        for name in TRANSFORMER_CONFIG_FIELDS[:6]:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"GPTConfig.{name} must be a positive integer, got {value!r}")
        for name in TRANSFORMER_CONFIG_FIELDS[6:]:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ConfigError(f"GPTConfig.{name} must be a probability in [0, 1), got {value!r}")
            setattr(self, name, float(value))
        if self.embedding_size % self.head_count:
            raise ConfigError(
                f"GPTConfig.embedding_size ({self.embedding_size}) must be a multiple of head_count ({self.head_count})"
            )
        if self.positions not in POSITIONS:
            raise ConfigError(f"GPTConfig.positions must be one of {sorted(POSITIONS)}, got {self.positions!r}")
        if self.positions == "rotary" and self.head_size % 2:
            raise ConfigError(f"GPTConfig: rotary positions need an even head size, got {self.head_size}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"GPTConfig.activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        epsilon = self.layer_norm_epsilon
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 < epsilon < 1:
            raise ConfigError(f"GPTConfig.layer_norm_epsilon must be a number in (0, 1), got {epsilon!r}")
        self.layer_norm_epsilon = float(epsilon)
        hidden = self.feed_forward_size
        if hidden is not None and (isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1):
            raise ConfigError(f"GPTConfig.feed_forward_size must be a positive integer or absent, got {hidden!r}")
        for name in ("tie_weights", "bias"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"GPTConfig.{name} must be true or false, got {getattr(self, name)!r}")

    @property
    def head_size(self) -> int:
        return self.embedding_size // self.head_count

    @property
    def hidden_size(self) -> int:
        """Width of the feed-forward layer."""
        return self.feed_forward_size or self.feed_forward_multiplier * self.embedding_size

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: dict[str, Any], *, source: str = "GPTConfig") -> GPTConfig:
        """Build from a mapping, naming unknown or missing fields (the original ones are required)."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        missing = sorted(set(TRANSFORMER_CONFIG_FIELDS) - set(fields))
        if unknown or missing:
            problems = [f"unknown field(s) {', '.join(unknown)}"] if unknown else []
            problems += [f"missing field(s) {', '.join(missing)}"] if missing else []
            raise ConfigError(f"{source}: {'; '.join(problems)}")
        return cls(**fields)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GPTConfig:
        """Read a ``.ron`` (gpt-rs's transformer_config.ron as it is) or ``.json`` config."""
        defaults = cls()
        optional = {
            field.name: getattr(defaults, field.name)
            for field in dataclasses.fields(cls)
            if field.name not in TRANSFORMER_CONFIG_FIELDS
        }
        fields = read_config_file(
            path, required=set(TRANSFORMER_CONFIG_FIELDS), optional=optional, what="transformer config"
        )
        return cls.from_dict(fields, source=str(path))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``.ron`` or ``.json`` by suffix, atomically.

        RON leaves out our extra options while they hold their defaults, so gpt-rs reads it.
        """
        fields = self.to_dict()
        if config_suffix(path, "transformer config") == ".ron":
            defaults = GPTConfig().to_dict()
            fields = {k: v for k, v in fields.items() if k in TRANSFORMER_CONFIG_FIELDS or v != defaults[k]}
        write_config_file(fields, path, what="transformer config")
