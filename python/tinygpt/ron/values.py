"""RON's value types beyond plain Python ones, and the error every reader raises."""

from __future__ import annotations

import math
import re
from typing import Any

from tinygpt.errors import DataError

IDENT_FULL = re.compile(r"[^\W\d]\w*")
KEYWORDS: dict[str, Any] = {"true": True, "false": False, "None": None, "inf": math.inf, "NaN": math.nan}

# Nesting limit: real files nest a few levels; the limit turns hostile input into a RonError
# long before Python's recursion limit is reached.
MAX_DEPTH = 100


class RonError(DataError):
    """Malformed RON; the message starts with ``source:line:column``."""

    def __init__(self, message: str, *, source: str, line: int, column: int) -> None:
        super().__init__(f"{source}:{line}:{column}: {message}")
        self.source = source
        self.line = line
        self.column = column


class RonMap(dict):
    """A RON map ``{key: value}``; kept apart from ``dict`` so that it is written back as a map."""

    def __repr__(self) -> str:
        return f"RonMap({dict.__repr__(self)})"


class Char(str):
    """A RON char literal ``'a'``: a one-character ``str`` that is written back with quotes."""

    def __new__(cls, value: str) -> Char:
        if len(value) != 1:
            raise ValueError(f"a Char holds exactly one character, got {value!r}")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"Char({str.__repr__(self)})"


class Ident(str):
    """A bare RON identifier (unit struct or enum variant such as ``Words``)."""

    def __new__(cls, value: str) -> Ident:
        if not IDENT_FULL.fullmatch(value) or value in KEYWORDS or value == "Some":
            raise ValueError(f"not a RON identifier (or a reserved word): {value!r}")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"Ident({str.__repr__(self)})"


def is_struct(value: dict) -> bool:
    """Whether ``value`` is written as a struct ``(a: 1)`` rather than a map ``{"a": 1}``."""
    return (
        type(value) is not RonMap
        and len(value) > 0
        and all(isinstance(key, str) and IDENT_FULL.fullmatch(key) for key in value)
    )
