"""The fast paths for long lists of integer records (a tokenizer's 50,000 merges, gpt-rs's
megabytes of encoded stories), kept apart from the general parser and writer.

Reading: a list of plain ints is parsed by the C JSON parser, and a list of records laid out
alike is cut by one regex split, column by column. Writing: ``Records`` holds such a list as
columns and is formatted a column at a time. Both give exactly what the general code gives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

from tinygpt.ron.values import MAX_DEPTH, is_struct

INT_LIST_BODY = re.compile(r"[0-9, \t\r\n-]*")


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
    elif type(layout) is dict and is_struct(layout):
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


PLAIN_SPACE = r"[ \t\r\n]*"


def record_regex(example: Any) -> str | None:
    """A regex for the plain RON text of any value laid out like ``example`` (ints in tuples
    and structs, with a group per int), or None when ``example`` holds anything else."""
    if type(example) is int:
        return "(-?[0-9]{1,18})"  # ids and counts; longer ints take the full parser
    if type(example) is tuple and example:
        labels, parts = [""] * len(example), [record_regex(part) for part in example]
    elif type(example) is dict:
        labels = [f"{re.escape(key)}{PLAIN_SPACE}:{PLAIN_SPACE}" for key in example]
        parts = [record_regex(part) for part in example.values()]
    else:
        return None
    regexes = [part for part in parts if part is not None]
    if len(regexes) != len(parts):
        return None
    fields = f"{PLAIN_SPACE},{PLAIN_SPACE}".join(label + part for label, part in zip(labels, regexes))
    return rf"\({PLAIN_SPACE}{fields}{PLAIN_SPACE},?{PLAIN_SPACE}\)"


def records_from_columns(example: Any, columns: Iterator[list[int]]) -> list:
    """Values laid out like ``example``, built from the columns of their ints (in the order
    record_regex's groups list them)."""
    if type(example) is int:
        return next(columns)
    if type(example) is tuple:
        return list(zip(*[records_from_columns(part, columns) for part in example]))
    keys = list(example)
    fields = [records_from_columns(part, columns) for part in example.values()]
    return [dict(zip(keys, values)) for values in zip(*fields)]


def as_records(value: Any, depth: int) -> Records | None:
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
        if len(key_orders) != 1 or not is_struct(items[0]):
            return None
        keys = key_orders.pop()
    else:
        return None
    parts = [_column_layout(list(map(itemgetter(key), items)), depth + 1) for key in keys]
    if any(part is None for part in parts):
        return None
    return tuple(parts) if kind is tuple else dict(zip(keys, parts))


def record_texts(records: Records, colon: str, comma: str) -> tuple[list[str], int]:
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


def read_int_list(text: str, pos: int) -> tuple[list[int], int] | None:
    """The list of plain ints that opens just before ``pos``, and the position after it; None
    when it holds anything else.

    gpt-rs's encoded stories are megabytes of these: when a list holds only digits, commas,
    signs and spaces it is valid JSON unless malformed, and the C JSON parser reads it several
    times faster. Malformed input returns None and gets the full parser's errors.
    """
    end = text.find("]", pos)
    if end >= 0 and INT_LIST_BODY.fullmatch(text, pos, end):
        try:
            return json.loads(text[pos - 1 : end + 1]), end + 1
        except ValueError:
            return None
    return None


def read_records_like(text: str, pos: int, example: Any, items: list) -> int:
    """Append the list items from ``pos`` on when they are all laid out like ``example``, a
    record of ints (a tokenizer's 50,000 ``(from: (3, 7), to: 64)`` merges), and return the
    position after them; else leave ``pos`` and ``items`` alone.

    One C-level ``re.split`` replaces the recursive descent: splitting the rest of the list on
    ``record,`` must leave nothing between records, and its groups are the ints, column by
    column. Only the plain spelling the writer uses (ASCII spacing, no comments or names) is
    taken; the parser reads what follows as usual, so any other spelling, malformed input
    included, still gets the full parser and its line:column errors.
    """
    layout = record_regex(example)
    if layout is None:
        return pos
    end = text.find("]", pos)  # records hold no "]": a "]" first ends the list or a comment
    region = text[pos : end if end >= 0 else len(text)]
    record = re.compile(f"{PLAIN_SPACE}{layout}{PLAIN_SPACE},")
    pieces = record.split(region)  # [gap, ints of record 1..., gap, ..., tail]
    step = record.groups + 1
    if any(pieces[0:-1:step]):
        return pos
    columns = [list(map(int, pieces[index::step])) for index in range(1, step)]
    items.extend(records_from_columns(example, iter(columns)))
    return pos + len(region) - len(pieces[-1])
