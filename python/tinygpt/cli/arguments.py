"""argparse types for the numbers `tinygpt.limits` bounds, so a bad value is refused while
parsing, with argparse's usage line and exit status 2, before anything is loaded."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from tinygpt import limits
from tinygpt.errors import ConfigError

T = TypeVar("T", int, float)


def checked(kind: Callable[[str], T], check: Callable[[T], T]) -> Callable[[str], T]:
    """An argparse ``type``: ``kind(text)``, then ``check``; both failures read as one line."""

    def parse(text: str) -> T:
        try:
            return check(kind(text))
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        except ValueError:
            raise argparse.ArgumentTypeError(_not_a_number(kind, text)) from None

    parse.__name__ = check.__name__
    return parse


def _not_a_number(kind: Callable[[str], object], text: str) -> str:
    if text.strip().lstrip("+-").isdigit():  # int() refuses over 4,300 digits
        return f"an integer of {len(text.strip())} digits is out of range"
    shown = text if len(text) <= 40 else text[:40] + "..."
    return f"expected {'an integer' if kind is int else 'a number'}, got {shown!r}"


SEED = checked(int, limits.seed)
TOKEN_COUNT = checked(int, limits.token_count)
SECONDS = checked(float, limits.seconds)
THREADS = checked(int, limits.threads)


def add_checkpoint_flag(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint``, one meaning for every command that reads a run's weights."""
    parser.add_argument(
        "--checkpoint",
        default="best",
        help="best | last | a step (step_1000 or step_00001000) | a checkpoint path (default best)",
    )
