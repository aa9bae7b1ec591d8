"""The ranges of user-given numbers (seeds, token counts, time budgets, thread counts), checked
in one place so every command and the REPL refuse the same values with the same message.

Torch-free, so the CLI parser can use it without slowing every command's start.
"""

from __future__ import annotations

import math

from tinygpt.errors import ConfigError

SEED_LIMIT = 2**64  # torch, numpy and the loader's generator all take 64-bit seeds
MAX_NEW_TOKENS = 100_000  # far beyond a story; stops a typo from generating without end


def seed(value: int) -> int:
    """A seed every random generator accepts: 0 <= seed < 2**64."""
    if not 0 <= value < SEED_LIMIT:
        raise ConfigError(f"the seed must lie in [0, 2**64 - 1], got {_short(value)}")
    return value


def token_count(value: int) -> int:
    """How many new tokens to sample: 1 ..= MAX_NEW_TOKENS."""
    if not 1 <= value <= MAX_NEW_TOKENS:
        raise ConfigError(f"the token count must lie in [1, {MAX_NEW_TOKENS:,}], got {_short(value)}")
    return value


def seconds(value: float) -> float:
    """A time budget: a positive, finite number of seconds (NaN would mean "never stop")."""
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"the time budget must be a positive number of seconds, got {value}")
    return value


def threads(value: int) -> int:
    """A thread count: at least one."""
    if value < 1:
        raise ConfigError(f"the thread count must be at least 1, got {_short(value)}")
    return value


def _short(value: int) -> str:
    """Integers of thousands of digits shown by their size, not spelled out (Python refuses to
    spell out more than 4,300 digits anyway)."""
    if abs(value) < 10**30:
        return str(value)
    return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
