"""A small reader and writer for RON (Rusty Object Notation), the format of gpt-rs's files.

We write it ourselves because the PyPI RON packages need a Rust toolchain to install. It covers
what serde + the ``ron`` crate produce and accept for plain data:

=========================  ======================================================
RON                        Python
=========================  ======================================================
``(name: v, ...)``          ``dict`` with ``str`` keys (a struct; ``Name(...)`` too,
                           the name is dropped, as ``ron`` drops it when writing)
``{k: v, ...}``            :class:`RonMap` (a ``dict`` whose keys are any hashable)
``[a, b]``                 ``list``
``(a, b)``                 ``tuple`` (``(a,)`` for one element; ``Name(a, b)`` too)
``()``                     ``()`` (unit)
``'a'``                    :class:`Char` (a ``str`` of length 1)
``"text"``, ``r#"raw"#``   ``str``
``42``, ``-0x2A``          ``int``
``2e-4``, ``inf``, ``NaN``  ``float``
``true`` / ``false``       ``bool``
``None`` / ``Some(x)``     ``None`` / ``x``
``Variant``                :class:`Ident` (a bare identifier: unit struct or enum variant)
=========================  ======================================================

Comments (``//`` and nested ``/* */``), trailing commas and ``#![enable(...)]`` headers are
accepted. Writing a plain ``dict`` gives a struct when every key is an identifier, else a map.
Long lists of int records (a tokenizer's merges) are read and written a column at a time;
:class:`Records` writes such a list from its columns without building it.

>>> loads("(vocab_size: 2048, learning_rate: 2e-4)")
{'vocab_size': 2048, 'learning_rate': 0.0002}
>>> dumps({"from": (3, 7), "to": 64}, pretty=False)
'(from:(3,7),to:64)'
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from tinygpt.atomic import atomic_write_text
from tinygpt.errors import ConfigError, DataError

__all__ = [
    "Char",
    "Ident",
    "Records",
    "RonError",
    "RonMap",
    "dump",
    "dumps",
    "load",
    "load_struct",
    "loads",
]

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

    def __new__(cls, value: str) -> "Char":
        if len(value) != 1:
            raise ValueError(f"a Char holds exactly one character, got {value!r}")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"Char({str.__repr__(self)})"


class Ident(str):
    """A bare RON identifier (unit struct or enum variant such as ``Words``)."""

    def __new__(cls, value: str) -> "Ident":
        if not _IDENT_FULL.fullmatch(value) or value in _KEYWORDS or value == "Some":
            raise ValueError(f"not a RON identifier (or a reserved word): {value!r}")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"Ident({str.__repr__(self)})"


class Records(Sequence):
    """A list of records (ints in tuples and structs, all laid out alike) held column by column.

    ``Records({"from": (firsts, seconds), "to": targets})`` stands for the list
    ``[{"from": (firsts[i], seconds[i]), "to": targets[i]}, ...]``: the layout is one record
    with a ``list`` of ints in place of each int. It is written exactly as that list, without
    building it (a tokenizer's 50,000 merges as dicts are slow to build, and so many live
    objects set off full garbage collections); reading the text back gives the list.
    """

    def __init__(self, layout: Any) -> None:
        self.layout = layout
        self.columns = _layout_columns(layout, 0)
        lengths = set(map(len, self.columns))
        if len(lengths) != 1:
            raise ValueError(f"Records columns must all have one length, got lengths {sorted(lengths)}")
        self._length = lengths.pop()

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError(f"record {index} of {self._length}")
        return _record_at(self.layout, index)

    def __repr__(self) -> str:
        return f"Records({self.layout!r})"


def _layout_columns(layout: Any, depth: int) -> list[list[int]]:
    """The int columns of a Records layout, in writing order."""
    if type(layout) is list:
        if not set(map(type, layout)) <= {int}:
            raise TypeError(f"a Records column holds only ints, got {layout[:8]!r}...")
        return [layout]
    if type(layout) is tuple and layout:
        parts: Any = layout
    elif type(layout) is dict and _is_struct(layout):
        parts = layout.values()
    else:
        raise TypeError(f"a Records layout is a list of ints or a tuple or struct of layouts, not {layout!r}")
    if depth >= MAX_DEPTH:
        raise ValueError(f"Records layout nests deeper than {MAX_DEPTH} levels")
    return [column for part in parts for column in _layout_columns(part, depth + 1)]


def _record_at(layout: Any, index: int) -> Any:
    if type(layout) is list:
        return layout[index]
    if type(layout) is tuple:
        return tuple(_record_at(part, index) for part in layout)
    return {key: _record_at(part, index) for key, part in layout.items()}


# ----------------------------------------------------------------------------------- reading

_IDENT = re.compile(r"r#[\w.+-]+|[^\W\d]\w*")
_IDENT_FULL = re.compile(r"[^\W\d]\w*")
_MAX_DIGITS = 4300  # sys.get_int_max_str_digits()'s default
_NUMBER = re.compile(
    r"[+-]?(?:0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+"
    r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)"
)
_SIGNED_SPECIAL = re.compile(r"[+-](?:inf|NaN)(?!\w)")
_SPACE = re.compile(r"(?:[ \t\r\n\f\v\u0085\u200e\u200f\u2028\u2029]+|//[^\n]*)*")
_STRING_STOP = re.compile(r'["\\]')
_INT_LIST_BODY = re.compile(r"[0-9, \t\r\n-]*")
_ATTRIBUTE = re.compile(r"#!\[[^\]]*\]")
_RAW_STRING = re.compile(r'r(#*)"')
_BRACED_ESCAPE = re.compile(r"\{([0-9A-Fa-f]{1,6})\}")
_LOW_SURROGATE_ESCAPE = re.compile(r"\\u([dD][c-fC-F][0-9A-Fa-f]{2})")
_SIMPLE_ESCAPES = {
    "n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\",
    "'": "'", '"': '"', "b": "\b", "f": "\f", "/": "/",
}
_KEYWORDS = {"true": True, "false": False, "None": None, "inf": math.inf, "NaN": math.nan}


class _Parser:
    """Recursive-descent parser over one string; ``pos`` always indexes ``text``."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.depth = 0

    def error(self, message: str, pos: int) -> RonError:
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return RonError(message, source=self.source, line=line, column=column)

    def describe(self, pos: int) -> str:
        if pos >= len(self.text):
            return "end of input"
        return f"{self.text[pos:pos + 12]!r}"

    def skip(self, pos: int) -> int:
        """Skip whitespace and comments (block comments nest, as in Rust)."""
        text = self.text
        while True:
            pos = _SPACE.match(text, pos).end()
            if not text.startswith("/*", pos):
                return pos
            start, level, pos = pos, 1, pos + 2
            while level:
                opening = text.find("/*", pos)
                closing = text.find("*/", pos)
                if closing < 0:
                    raise self.error("unterminated block comment", start)
                if 0 <= opening < closing:
                    level, pos = level + 1, opening + 2
                else:
                    level, pos = level - 1, closing + 2

    def expect(self, char: str, pos: int, what: str) -> int:
        pos = self.skip(pos)
        if not self.text.startswith(char, pos):
            raise self.error(f"expected {char!r} {what}, found {self.describe(pos)}", pos)
        return pos + 1

    def enter(self, pos: int) -> None:
        """Count one more level of nesting; the caller decrements it when the level closes."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", pos)

    def document(self) -> Any:
        pos = self.skip(0)
        while (attribute := _ATTRIBUTE.match(self.text, pos)) is not None:
            pos = self.skip(attribute.end())
        value, pos = self.value(pos)
        pos = self.skip(pos)
        if pos != len(self.text):
            raise self.error(f"unexpected {self.describe(pos)} after the value", pos)
        return value

    def value(self, pos: int) -> tuple[Any, int]:
        pos = self.skip(pos)
        if pos >= len(self.text):
            raise self.error("expected a value, found end of input", pos)
        char = self.text[pos]
        if char in "([{":
            self.enter(pos)
            if char == "[":
                result = self.sequence(pos + 1)
            elif char == "{":
                result = self.mapping(pos + 1)
            else:
                result = self.parenthesised(pos + 1)
            self.depth -= 1
            return result
        if char == '"':
            return self.string(pos + 1)
        if char == "'":
            return self.char(pos + 1)
        if char in "+-" and (special := _SIGNED_SPECIAL.match(self.text, pos)):
            magnitude = _KEYWORDS[special.group()[1:]]
            return (-magnitude if char == "-" else magnitude), special.end()
        if char.isdigit() or char in "+-.":
            return self.number(pos)
        if char == "r" and (raw := _RAW_STRING.match(self.text, pos)):
            return self.raw_string(pos, raw)
        if char == "b" and self.text.startswith(('b"', "b'", 'br"', "br#"), pos):
            raise self.error("byte strings and byte literals are not supported", pos)
        if (ident := _IDENT.match(self.text, pos)) is not None:
            return self.identifier_value(ident.group(), ident.end())
        raise self.error(f"expected a value, found {self.describe(pos)}", pos)

    def number(self, pos: int) -> tuple[int | float, int]:
        match = _NUMBER.match(self.text, pos)
        if match is None:
            raise self.error(f"expected a number, found {self.describe(pos)}", pos)
        end = match.end()
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_"):
            raise self.error(f"malformed number {self.describe(pos)}", pos)
        literal = match.group().replace("_", "")
        body = literal.lstrip("+-")
        try:
            if body[:2] in ("0x", "0o", "0b"):
                magnitude = int(body[2:], {"0x": 16, "0o": 8, "0b": 2}[body[:2]])
                return (-magnitude if literal.startswith("-") else magnitude), end
            if any(c in body for c in ".eE"):
                return float(literal), end
            return int(literal), end
        except ValueError:
            if len(body) > _MAX_DIGITS:  # Python refuses to convert longer decimal literals
                raise self.error(f"number of {len(body):,} digits is out of range", pos) from None
            raise self.error(f"malformed number {match.group()!r}", pos) from None

    def identifier_value(self, name: str, pos: int) -> tuple[Any, int]:
        after = self.skip(pos)
        opens = self.text.startswith("(", after)
        if name == "Some":
            if not opens:
                raise self.error("expected '(' after Some", after)
            self.enter(after)
            value, pos = self.value(after + 1)
            self.depth -= 1
            return value, self.expect(")", pos, "to close Some(...)")
        if name in _KEYWORDS and not opens:
            return _KEYWORDS[name], pos
        if opens:
            return self.value(after)
        return Ident(name.removeprefix("r#")), pos

    def sequence(self, pos: int) -> tuple[list, int]:
        # Fast path for lists of integers (gpt-rs's encoded stories, megabytes of them): when
        # the list holds only digits, commas, signs and spaces, it is valid JSON unless
        # malformed, and the C JSON parser reads it several times faster.
        end = self.text.find("]", pos)
        if end >= 0 and _INT_LIST_BODY.fullmatch(self.text, pos, end):
            try:
                return json.loads(self.text[pos - 1:end + 1]), end + 1
            except ValueError:
                pass
        items: list = []
        while True:
            pos = self.skip(pos)
            if self.text.startswith("]", pos):
                return items, pos + 1
            item, pos = self.value(pos)
            items.append(item)
            pos = self.separator(pos, "]", "list")
            if len(items) == 1:
                pos = self.records_like(item, pos, items)

    def records_like(self, example: Any, pos: int, items: list) -> int:
        """Append the items from ``pos`` on when they are all laid out like ``example``, a
        record of ints (a tokenizer's 50,000 ``(from: (3, 7), to: 64)`` merges), and return
        the position after them; else leave ``pos`` and ``items`` alone.

        One C-level ``re.split`` replaces the recursive descent: splitting the rest of the list
        on ``record,`` must leave nothing between records, and its groups are the ints, column
        by column. Only the plain spelling the writer uses (ASCII spacing, no comments or
        names) is taken; the caller parses what follows as usual, so any other spelling,
        malformed input included, still gets the full parser and its line:column errors.
        """
        layout = _record_regex(example)
        if layout is None:
            return pos
        end = self.text.find("]", pos)  # records hold no "]": a "]" first ends the list or a comment
        region = self.text[pos:end if end >= 0 else len(self.text)]
        record = re.compile(f"{_PLAIN_SPACE}{layout}{_PLAIN_SPACE},")
        pieces = record.split(region)  # [gap, ints of record 1..., gap, ..., tail]
        step = record.groups + 1
        if any(pieces[0:-1:step]):
            return pos
        columns = [list(map(int, pieces[index::step])) for index in range(1, step)]
        items.extend(_records(example, iter(columns)))
        return pos + len(region) - len(pieces[-1])

    def separator(self, pos: int, closing: str, what: str) -> int:
        """After an item: consume ',' or stop before ``closing``."""
        pos = self.skip(pos)
        if self.text.startswith(",", pos):
            return pos + 1
        if self.text.startswith(closing, pos):
            return pos
        raise self.error(f"expected ',' or {closing!r} in {what}, found {self.describe(pos)}", pos)

    def mapping(self, pos: int) -> tuple[RonMap, int]:
        result = RonMap()
        while True:
            pos = self.skip(pos)
            if self.text.startswith("}", pos):
                return result, pos + 1
            key_pos = pos
            key, pos = self.value(pos)
            try:
                hash(key)
            except TypeError:
                raise self.error(f"a map key must be hashable, not {type(key).__name__}", key_pos) from None
            if key in result:
                raise self.error(f"duplicate map key {key!r}", key_pos)
            pos = self.expect(":", pos, "after a map key")
            result[key], pos = self.value(pos)
            pos = self.separator(pos, "}", "map")

    def field_name(self, pos: int) -> tuple[str, int] | None:
        """A struct field ``name:`` at ``pos`` (without consuming anything when there is none)."""
        ident = _IDENT.match(self.text, pos)
        if ident is None:
            return None
        after = self.skip(ident.end())
        if not self.text.startswith(":", after) or self.text.startswith("::", after):
            return None
        return ident.group().removeprefix("r#"), after + 1

    def parenthesised(self, pos: int) -> tuple[Any, int]:
        """``(...)``: unit, a struct when the first item is ``name:``, else a tuple."""
        pos = self.skip(pos)
        if self.text.startswith(")", pos):
            return (), pos + 1
        if self.field_name(pos) is None:
            items = []
            while not self.text.startswith(")", pos := self.skip(pos)):
                item, pos = self.value(pos)
                items.append(item)
                pos = self.separator(pos, ")", "tuple")
            return tuple(items), pos + 1
        fields: dict[str, Any] = {}
        while not self.text.startswith(")", pos := self.skip(pos)):
            field = self.field_name(pos)
            if field is None:
                raise self.error(f"expected a field name, found {self.describe(pos)}", pos)
            name, after = field
            if name in fields:
                raise self.error(f"duplicate field {name!r}", pos)
            fields[name], pos = self.value(after)
            pos = self.separator(pos, ")", "struct")
        return fields, pos + 1

    def string(self, pos: int) -> tuple[str, int]:
        start, chunks = pos - 1, []
        while True:
            stop = _STRING_STOP.search(self.text, pos)
            if stop is None:
                raise self.error("unterminated string", start)
            chunks.append(self.text[pos:stop.start()])
            if self.text[stop.start()] == '"':
                return "".join(chunks), stop.end()
            char, pos = self.escape(stop.start() + 1)
            chunks.append(char)

    def raw_string(self, pos: int, opening: re.Match) -> tuple[str, int]:
        closing = '"' + opening.group(1)
        end = self.text.find(closing, opening.end())
        if end < 0:
            raise self.error("unterminated raw string", pos)
        return self.text[opening.end():end], end + len(closing)

    def char(self, pos: int) -> tuple[Char, int]:
        if pos >= len(self.text):
            raise self.error("unterminated char literal", pos - 1)
        if self.text[pos] == "\\":
            value, end = self.escape(pos + 1)
        else:
            value, end = self.text[pos], pos + 1
        if not self.text.startswith("'", end):
            raise self.error("expected ' to close the char literal", pos - 1)
        return Char(value), end + 1

    def escape(self, pos: int) -> tuple[str, int]:
        """One escape after a backslash: Rust's (``\\u{1F600}``, ``\\x41``) and JSON's (``\\u00e9``)."""
        kind = self.text[pos:pos + 1]
        if kind in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[kind], pos + 1
        if kind == "x":
            digits = self.text[pos + 1:pos + 3]
            if re.fullmatch(r"[0-7][0-9A-Fa-f]", digits):
                return chr(int(digits, 16)), pos + 3
            raise self.error("\\x escape needs two hex digits 00-7F", pos - 1)
        if kind == "u":
            braced = _BRACED_ESCAPE.match(self.text, pos + 1)
            if braced is not None:
                return self.code_point(int(braced.group(1), 16), pos), braced.end()
            if re.fullmatch(r"[0-9A-Fa-f]{4}", self.text[pos + 1:pos + 5]):
                return self.utf16_escape(pos)
            raise self.error("\\u escape needs {1-6 hex digits} or 4 hex digits", pos - 1)
        raise self.error(f"unknown escape \\{kind or 'at end of input'}", pos - 1)

    def utf16_escape(self, pos: int) -> tuple[str, int]:
        unit = int(self.text[pos + 1:pos + 5], 16)
        end = pos + 5
        if 0xD800 <= unit < 0xDC00:
            low = _LOW_SURROGATE_ESCAPE.match(self.text, end)
            if low is None:
                raise self.error("\\u escape of a lone surrogate", pos - 1)
            unit = 0x10000 + ((unit - 0xD800) << 10) + (int(low.group(1), 16) - 0xDC00)
            end = low.end()
        return self.code_point(unit, pos), end

    def code_point(self, value: int, pos: int) -> str:
        if value > 0x10FFFF or 0xD800 <= value < 0xE000:
            raise self.error(f"\\u escape of an invalid code point {value:#x}", pos - 1)
        return chr(value)


_PLAIN_SPACE = r"[ \t\r\n]*"


def _record_regex(example: Any) -> str | None:
    """A regex for the plain RON text of any value laid out like ``example`` (ints in tuples
    and structs, with a group per int), or None when ``example`` holds anything else."""
    if type(example) is int:
        return "(-?[0-9]{1,18})"  # ids and counts; longer ints take the full parser
    if type(example) is tuple and example:
        labels, parts = [""] * len(example), [_record_regex(part) for part in example]
    elif type(example) is dict:
        labels = [f"{re.escape(key)}{_PLAIN_SPACE}:{_PLAIN_SPACE}" for key in example]
        parts = [_record_regex(part) for part in example.values()]
    else:
        return None
    if None in parts:
        return None
    fields = f"{_PLAIN_SPACE},{_PLAIN_SPACE}".join(label + part for label, part in zip(labels, parts))
    return rf"\({_PLAIN_SPACE}{fields}{_PLAIN_SPACE},?{_PLAIN_SPACE}\)"


def _records(example: Any, columns: Iterator[list[int]]) -> list:
    """Values laid out like ``example``, built from the columns of their ints (in the order
    _record_regex's groups list them)."""
    if type(example) is int:
        return next(columns)
    if type(example) is tuple:
        return list(zip(*[_records(part, columns) for part in example]))
    keys = list(example)
    fields = [_records(part, columns) for part in example.values()]
    return [dict(zip(keys, values)) for values in zip(*fields)]


def loads(text: str, *, source: str = "<string>") -> Any:
    """Parse one RON value from ``text``; ``source`` names it in error messages."""
    return _Parser(text, source).document()


def load(path: str | os.PathLike[str]) -> Any:
    """Read and parse a RON file (UTF-8, an optional BOM)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: invalid UTF-8 at byte offset {error.start}") from None
    return loads(text, source=str(path))


def load_struct(
    path: str | os.PathLike[str],
    *,
    required: set[str],
    optional: Mapping[str, Any] | None = None,
    what: str,
) -> dict[str, Any]:
    """Load a top-level struct and check its fields; missing optional fields get defaults.

    Raises ConfigError naming the file and every unknown or missing field, so a typo in a
    config is reported rather than silently ignored. ``what`` names the struct ("transformer
    config") in messages.
    """
    optional = dict(optional or {})
    try:
        value = load(path)
    except DataError as error:
        raise ConfigError(f"{what}: {error}") from error
    if type(value) is not dict:
        found = "an empty struct" if value == () else f"a {type(value).__name__}"
        raise ConfigError(f"{path}: expected a {what} struct `(field: value, ...)`, found {found}")
    unknown = sorted(set(value) - set(required) - set(optional))
    missing = sorted(set(required) - set(value))
    problems = []
    if unknown:
        allowed = ", ".join(sorted(set(required) | set(optional)))
        problems.append(f"unknown field(s) {', '.join(unknown)} (allowed: {allowed})")
    if missing:
        problems.append(f"missing field(s) {', '.join(missing)}")
    if problems:
        raise ConfigError(f"{path}: {what}: " + "; ".join(problems))
    return {**optional, **value}


# ----------------------------------------------------------------------------------- writing

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


def _is_struct(value: dict) -> bool:
    return (
        type(value) is not RonMap
        and len(value) > 0
        and all(isinstance(key, str) and _IDENT_FULL.fullmatch(key) for key in value)
    )


def _brackets(value: list | tuple | dict) -> tuple[str, str, str]:
    """Opening, closing, and what a one-element container needs before closing (``(a,)``)."""
    if isinstance(value, (list, Records)):
        return "[", "]", ""
    if isinstance(value, tuple):
        return "(", ")", "," if len(value) == 1 else ""
    return ("(", ")", "") if _is_struct(value) else ("{", "}", "")


def _entries(value: list | tuple | dict, colon: str, depth: int) -> Iterator[tuple[str, Any]]:
    """(prefix, item) pairs: the prefix is ``key:`` in structs and maps, empty in sequences.

    Lazy, so that ``_inline`` giving up on a long list after a few items has not built a pair
    for every item (50,000 live tuples are enough to set off full garbage collections).
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"value nests deeper than {MAX_DEPTH} levels (a cycle?)")
    if not isinstance(value, dict):
        return (("", item) for item in value)
    if _is_struct(value):
        return ((key + colon, item) for key, item in value.items())
    return ((_compact(key, depth + 1) + colon, item) for key, item in value.items())


def _as_records(value: Any, depth: int) -> Records | None:
    """``value`` as Records when it is a list or tuple of records all laid out alike (a
    tokenizer's 50,000 ``(from: (a, b), to: c)`` merges), else None.

    The writer's fast path: a whole column at a time with C-level ``map``/``format`` instead of
    one Python call per value, giving the text that writing item by item gives.
    """
    if isinstance(value, Records):
        return value
    if isinstance(value, dict):
        return None
    layout = _column_layout(value, depth)
    return None if layout is None else Records(layout)


def _column_layout(items: Sequence[Any], depth: int) -> Any:
    """The Records layout of ``items``, or None when they differ or hold anything else."""
    kinds = set(map(type, items))
    if len(kinds) != 1 or depth >= MAX_DEPTH:
        return None
    kind = kinds.pop()
    if kind is int:
        return list(items)
    if kind is tuple:
        sizes = set(map(len, items))
        if sizes == {0} or len(sizes) != 1:
            return None
        keys: Any = range(sizes.pop())
    elif kind is dict:
        key_orders = set(map(tuple, items))
        if len(key_orders) != 1 or not _is_struct(items[0]):
            return None
        keys = key_orders.pop()
    else:
        return None
    parts = [_column_layout(list(map(itemgetter(key), items)), depth + 1) for key in keys]
    if any(part is None for part in parts):
        return None
    return tuple(parts) if kind is tuple else dict(zip(keys, parts))


def _record_texts(records: Records, colon: str, comma: str) -> tuple[list[str], int]:
    """The text of each record, and how deeply a record nests (0 for plain ints)."""
    template, nesting = _template(records.layout, colon, comma)
    return list(map(template.format, *records.columns)), nesting


def _template(layout: Any, colon: str, comma: str) -> tuple[str, int]:
    """A ``str.format`` template for one record of ``layout``, and how deeply it nests."""
    if type(layout) is list:
        return "{}", 0
    if type(layout) is tuple:
        prefixes, parts = [""] * len(layout), list(layout)
        closing = "," * (len(layout) == 1) + ")"
    else:
        prefixes, parts = [key + colon for key in layout], list(layout.values())
        closing = ")"
    templates = [_template(part, colon, comma) for part in parts]
    fields = comma.join(prefix + template for prefix, (template, _) in zip(prefixes, templates))
    return "(" + fields + closing, 1 + max(nesting for _, nesting in templates)


def _compact(value: Any, depth: int = 0) -> str:
    scalar = _scalar(value)
    if scalar is not None:
        return scalar
    opening, closing, trailing = _brackets(value)
    records = _as_records(value, depth + 1)
    if records is not None:
        parts = _record_texts(records, ":", ",")[0]
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
    records = _as_records(value, depth + 1)
    if records is not None:
        lines, nesting = _record_texts(records, ": ", ", ")
        if nesting == 0:  # plain ints
            out.append(opening + ", ".join(lines) + trailing + closing)
            return
    elif not isinstance(value, dict):
        texts = [_scalar(item) for item in value]
        if None not in texts:
            out.append(opening + ", ".join(texts) + trailing + closing)
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
