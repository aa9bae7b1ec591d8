"""Python values to RON text that gpt-rs (serde + the ``ron`` crate) reads back."""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Iterator
from typing import Any

from tinygpt.atomic import atomic_write_text
from tinygpt.ron.records import Records, as_records, record_texts
from tinygpt.ron.values import MAX_DEPTH, Char, Ident, is_struct

# Only escapes that every version of the `ron` crate reads; everything else is written as is.
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_CHAR_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_WIDTH = 96
_INDENT = "    "


def _check_text(text: str) -> str:
    if not text.isascii() and _SURROGATE.search(text):
        raise ValueError(f"RON text cannot hold lone surrogates: {text!r}")
    return text


def _scalar(value: Any) -> str | None:
    """The RON text of a scalar, or None when ``value`` is a container."""
    if type(value) is int:
        return str(value)
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Char):
        return "'" + _CHAR_ESCAPES.get(value, _check_text(str(value))) + "'"
    if isinstance(value, Ident):
        return str(value)
    if isinstance(value, str):
        return '"' + _check_text(value).translate(_STRING_ESCAPES) + '"'
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return repr(number)
    if isinstance(value, (dict, list, tuple, Records)):
        return None
    raise TypeError(f"cannot write {type(value).__name__} as RON: {value!r}")


def _brackets(value: list | tuple | dict) -> tuple[str, str, str]:
    """Opening, closing, and what a one-element container needs before closing (``(a,)``)."""
    if isinstance(value, (list, Records)):
        return "[", "]", ""
    if isinstance(value, tuple):
        return "(", ")", "," if len(value) == 1 else ""
    return ("(", ")", "") if is_struct(value) else ("{", "}", "")


def _entries(value: list | tuple | dict, colon: str, depth: int) -> Iterator[tuple[str, Any]]:
    """(prefix, item) pairs: the prefix is ``key:`` in structs and maps, empty in sequences.

    Lazy, so that ``_inline`` giving up on a long list after a few items has not built a pair
    for every item (50,000 live tuples are enough to set off full garbage collections).
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"value nests deeper than {MAX_DEPTH} levels (a cycle?)")
    if not isinstance(value, dict):
        return (("", item) for item in value)
    if is_struct(value):
        return ((key + colon, item) for key, item in value.items())
    return ((_compact(key, depth + 1) + colon, item) for key, item in value.items())


def _compact(value: Any, depth: int = 0) -> str:
    scalar = _scalar(value)
    if scalar is not None:
        return scalar
    opening, closing, trailing = _brackets(value)
    records = as_records(value, depth + 1)
    if records is not None:
        parts = record_texts(records, ":", ",")[0]
    else:
        parts = [prefix + _compact(item, depth + 1) for prefix, item in _entries(value, ":", depth)]
    return opening + ",".join(parts) + trailing + closing


def _inline(value: Any, budget: int, depth: int) -> str | None:
    """``value`` on one line with spaces, or None when it is longer than ``budget``."""
    scalar = _scalar(value)
    if scalar is not None:
        return scalar if len(scalar) <= budget else None
    opening, closing, trailing = _brackets(value)
    parts, used = [], 3
    for prefix, item in _entries(value, ": ", depth):
        text = _inline(item, budget - used - len(prefix), depth + 1)
        if text is None:
            return None
        parts.append(prefix + text)
        used += len(prefix) + len(text) + 2
        if used > budget:
            return None
    return opening + ", ".join(parts) + trailing + closing


def _pretty(value: Any, depth: int, out: list[str]) -> None:
    """Append ``value``: lists of scalars and short containers on one line, others one entry
    per line."""
    scalar = _scalar(value)
    if scalar is not None:
        out.append(scalar)
        return
    opening, closing, trailing = _brackets(value)
    records = as_records(value, depth + 1)
    if records is not None:
        lines, nesting = record_texts(records, ": ", ", ")
        if nesting == 0:  # plain ints
            out.append(opening + ", ".join(lines) + trailing + closing)
            return
    elif not isinstance(value, dict):
        texts = [_scalar(item) for item in value]
        scalars = [text for text in texts if text is not None]
        if len(scalars) == len(texts):
            out.append(opening + ", ".join(scalars) + trailing + closing)
            return
    indent = _INDENT * depth
    one_line = _inline(value, _LINE_WIDTH - len(indent), depth)
    if one_line is not None:
        out.append(one_line)
        return
    out.append(opening + "\n")
    item_indent = indent + _INDENT
    # _inline keeps an item of n nested levels on one line when len + 3 * n <= its budget (each
    # open level reserves 3 characters), so then every record is one of these lines.
    if records is not None and max(map(len, lines)) + 3 * nesting <= _LINE_WIDTH - len(item_indent):
        out.extend(f"{item_indent}{line},\n" for line in lines)
        out.append(indent + closing)
        return
    for prefix, item in _entries(value, ": ", depth):
        out.append(item_indent + prefix)
        _pretty(item, depth + 1, out)
        out.append(",\n")
    out.append(indent + closing)


def dumps(value: Any, *, pretty: bool = True) -> str:
    """RON text for ``value`` that gpt-rs (serde + ``ron``) reads back.

    ``pretty`` puts struct and map entries on their own lines (lists of numbers stay on one
    line); ``pretty=False`` gives ``ron::to_string``'s compact form.
    """
    if not pretty:
        return _compact(value)
    out: list[str] = []
    _pretty(value, 0, out)
    return "".join(out)


def dump(value: Any, path: str | os.PathLike[str]) -> None:
    """Write ``value`` to ``path`` as pretty RON, atomically."""
    atomic_write_text(path, dumps(value, pretty=True) + "\n")
