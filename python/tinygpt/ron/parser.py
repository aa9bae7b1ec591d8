"""RON text to Python values: a recursive-descent parser with line:column errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tinygpt.errors import DataError
from tinygpt.ron.records import read_int_list, read_records_like
from tinygpt.ron.values import KEYWORDS, MAX_DEPTH, Char, Ident, RonError, RonMap

_IDENT = re.compile(r"r#[\w.+-]+|[^\W\d]\w*")
_MAX_DIGITS = 4300  # sys.get_int_max_str_digits()'s default
_NUMBER = re.compile(
    r"[+-]?(?:0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+"
    r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)"
)
_SIGNED_SPECIAL = re.compile(r"[+-](?:inf|NaN)(?!\w)")
_SPACE = re.compile(r"(?:[ \t\r\n\f\v\u0085\u200e\u200f\u2028\u2029]+|//[^\n]*)*")
_STRING_STOP = re.compile(r'["\\]')
_ATTRIBUTE = re.compile(r"#!\[[^\]]*\]")
_RAW_STRING = re.compile(r'r(#*)"')
_BRACED_ESCAPE = re.compile(r"\{([0-9A-Fa-f]{1,6})\}")
_LOW_SURROGATE_ESCAPE = re.compile(r"\\u([dD][c-fC-F][0-9A-Fa-f]{2})")
_SIMPLE_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "0": "\0",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "b": "\b",
    "f": "\f",
    "/": "/",
}


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
        return f"{self.text[pos : pos + 12]!r}"

    def skip(self, pos: int) -> int:
        """Skip whitespace and comments (block comments nest, as in Rust)."""
        text = self.text
        while True:
            space = _SPACE.match(text, pos)
            assert space is not None  # the pattern matches the empty string
            pos = space.end()
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
            result: tuple[Any, int]
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
            magnitude = KEYWORDS[special.group()[1:]]
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
        if name in KEYWORDS and not opens:
            return KEYWORDS[name], pos
        if opens:
            return self.value(after)
        return Ident(name.removeprefix("r#")), pos

    def sequence(self, pos: int) -> tuple[list, int]:
        fast = read_int_list(self.text, pos)
        if fast is not None:
            return fast
        items: list = []
        while True:
            pos = self.skip(pos)
            if self.text.startswith("]", pos):
                return items, pos + 1
            item, pos = self.value(pos)
            items.append(item)
            pos = self.separator(pos, "]", "list")
            if len(items) == 1:
                pos = read_records_like(self.text, pos, item, items)

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
            chunks.append(self.text[pos : stop.start()])
            if self.text[stop.start()] == '"':
                return "".join(chunks), stop.end()
            char, pos = self.escape(stop.start() + 1)
            chunks.append(char)

    def raw_string(self, pos: int, opening: re.Match) -> tuple[str, int]:
        closing = '"' + opening.group(1)
        end = self.text.find(closing, opening.end())
        if end < 0:
            raise self.error("unterminated raw string", pos)
        return self.text[opening.end() : end], end + len(closing)

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
        kind = self.text[pos : pos + 1]
        if kind in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[kind], pos + 1
        if kind == "x":
            digits = self.text[pos + 1 : pos + 3]
            if re.fullmatch(r"[0-7][0-9A-Fa-f]", digits):
                return chr(int(digits, 16)), pos + 3
            raise self.error("\\x escape needs two hex digits 00-7F", pos - 1)
        if kind == "u":
            braced = _BRACED_ESCAPE.match(self.text, pos + 1)
            if braced is not None:
                return self.code_point(int(braced.group(1), 16), pos), braced.end()
            if re.fullmatch(r"[0-9A-Fa-f]{4}", self.text[pos + 1 : pos + 5]):
                return self.utf16_escape(pos)
            raise self.error("\\u escape needs {1-6 hex digits} or 4 hex digits", pos - 1)
        raise self.error(f"unknown escape \\{kind or 'at end of input'}", pos - 1)

    def utf16_escape(self, pos: int) -> tuple[str, int]:
        unit = int(self.text[pos + 1 : pos + 5], 16)
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
