"""Tokenizer files: one human-readable RON struct, written atomically.

    (
        format: "tinygpt-bpe",
        version: 1,
        mode: "words",                       // or "bytes"
        pattern: None,                       // bytes mode: "gpt2", "gpt4" or a regex
        special_tokens: {"<|endoftext|>": 2047},
        do_not_merge: ['"', '\\n'],           // words mode
        char_to_id: {'a': 0, ...},           // words mode, gpt-rs's names
        id_to_char: {0: 'a', ...},           // words mode
        byte_to_id: [..256 ids..],           // bytes mode, and words mode with byte fallback
        mergings: [(from: (3, 7), to: 64), ...],
        added_tokens: {50256: [60, 124, ...]},  // optional: id -> bytes of each added token
    )

Words mode writes ``byte_to_id`` only with byte fallback, and ``added_tokens`` appears only
when the tokenizer has some, so files without them keep gpt-rs's shape.
"""

from __future__ import annotations

import os
from operator import itemgetter
from typing import Any

import numpy as np

from tinygpt import ron
from tinygpt.errors import ConfigError, DataError
from tinygpt.tokenizer.spec import TokenizerSpec

FORMAT = "tinygpt-bpe"
VERSION = 1


def spec_to_ron(spec: TokenizerSpec) -> dict[str, Any]:
    """The RON struct of a tokenizer file (module docstring), ready for ``ron.dump``."""
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "mode": spec.mode, "pattern": spec.pattern}
    data["special_tokens"] = ron.RonMap(dict(spec.special_tokens))
    if spec.mode == "words":
        alphabet = spec.alphabet
        data["do_not_merge"] = [ron.Char(c) for c in spec.do_not_merge]
        data["char_to_id"] = ron.RonMap({ron.Char(c): i for i, c in enumerate(alphabet)})
        data["id_to_char"] = ron.RonMap({i: ron.Char(c) for i, c in enumerate(alphabet)})
        if spec.byte_fallback is not None:
            data["byte_to_id"] = list(spec.byte_fallback)
    else:
        ids_of = dict(spec.base)
        data["byte_to_id"] = [ids_of[bytes([b])] for b in range(256)]
    firsts, seconds, targets = (list(map(itemgetter(index), spec.merges)) for index in range(3))
    data["mergings"] = ron.Records({"from": (firsts, seconds), "to": targets})
    if spec.added_tokens:
        data["added_tokens"] = ron.RonMap({i: list(token) for i, token in sorted(spec.added_tokens.items())})
    return data


def write_tokenizer_file(spec: TokenizerSpec, path: str | os.PathLike[str]) -> None:
    ron.dump(spec_to_ron(spec), path)


def read_tokenizer_file(path: str | os.PathLike[str]) -> TokenizerSpec:
    data = ron.load(path)
    try:
        return spec_from_ron(data)
    except (DataError, ConfigError) as exc:
        raise DataError(f"{path}: {exc}") from None


def spec_from_ron(data: Any) -> TokenizerSpec:
    """The tokenizer in a parsed RON file, every field checked (foreign files -> DataError)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f"not a tinygpt tokenizer file (expected a struct with format: {FORMAT!r})")
    if data.get("version") != VERSION:
        raise DataError(f"unsupported tokenizer file version {data.get('version')!r} (this tinygpt reads {VERSION})")
    mode = _field(data, "mode", str)
    specials = _field(data, "special_tokens", dict)
    for name, token_id in specials.items():
        if not isinstance(name, str) or not _is_id(token_id):
            raise DataError(f'special_tokens: expected "name": id entries, got {name!r}: {token_id!r}')
    merges = _merges(_field(data, "mergings", list))
    added = _added_tokens(data)
    if mode == "words":
        id_to_char = _field(data, "id_to_char", dict)
        char_to_id = _field(data, "char_to_id", dict)
        base = []
        for token_id, char in id_to_char.items():
            if not _is_id(token_id) or not (isinstance(char, str) and len(char) == 1) or "\ud800" <= char <= "\udfff":
                raise DataError(f"id_to_char: expected id: 'c' entries, got {token_id!r}: {char!r}")
            if char_to_id.get(char) != token_id:
                raise DataError(f"char_to_id and id_to_char disagree about {char!r}")
            base.append((char.encode("utf-8"), token_id))
        if len(char_to_id) != len(id_to_char):
            raise DataError("char_to_id and id_to_char hold different numbers of characters")
        do_not_merge = _field(data, "do_not_merge", list)
        if not all(isinstance(c, str) and len(c) == 1 for c in do_not_merge):
            raise DataError(f"do_not_merge: expected a list of characters, got {do_not_merge!r}")
        byte_fallback = _byte_ids(data) if "byte_to_id" in data else None
        return TokenizerSpec(
            mode="words",
            pattern=None,
            base=base,
            merges=merges,
            special_tokens=specials,
            do_not_merge=tuple(do_not_merge),
            added_tokens=added,
            byte_fallback=byte_fallback,
        )
    if mode == "bytes":
        pattern = _field(data, "pattern", str)
        base = [(bytes([b]), token_id) for b, token_id in enumerate(_byte_ids(data))]
        return TokenizerSpec(
            mode="bytes", pattern=pattern, base=base, merges=merges, special_tokens=specials, added_tokens=added
        )
    raise DataError(f'mode: expected "bytes" or "words", got {mode!r}')


def _merges(entries: list) -> list[tuple[int, int, int]]:
    """The ``(from: (a, b), to: t)`` entries as ``(a, b, t)``; DataError naming the first bad one."""
    merges = _merges_in_bulk(entries)
    if merges is not None:
        return merges
    merges = []
    for number, entry in enumerate(entries):
        fields: dict[Any, Any] = entry if isinstance(entry, dict) else {}
        pair: Any = fields.get("from")
        target: Any = fields.get("to")
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(map(_is_id, pair)) and _is_id(target)):
            raise DataError(f"mergings[{number}]: expected (from: (id, id), to: id), got {entry!r}")
        merges.append((pair[0], pair[1], target))
    return merges


def _merges_in_bulk(entries: list) -> list[tuple[int, int, int]] | None:
    """The merges when every entry is well formed, checked in bulk (GPT-2 has 50,000: loading
    its tokenizer is part of every command's start-up); None otherwise."""
    try:
        merges = [(*entry["from"], entry["to"]) for entry in entries]
        ids = np.array(merges, dtype=np.int64).reshape(len(merges), 3)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    kinds = {type(entry) for entry in entries} | {type(entry["from"]) for entry in entries}
    values = {type(value) for merge in merges for value in merge}
    if kinds - {dict, tuple} or values - {int} or (ids.size and (ids.min() < 0 or ids.max() >= 2**32)):
        return None
    return merges


def _byte_ids(data: dict) -> list[int]:
    byte_ids = _field(data, "byte_to_id", list)
    if len(byte_ids) != 256 or not all(map(_is_id, byte_ids)):
        raise DataError("byte_to_id: expected a list of 256 ids")
    return byte_ids


def _added_tokens(data: dict) -> dict[int, bytes]:
    entries = data.get("added_tokens", {})
    if not isinstance(entries, dict):
        raise DataError(f"field 'added_tokens': expected a map of id: [bytes], got {type(entries).__name__}")
    added = {}
    for token_id, values in entries.items():
        if (
            not _is_id(token_id)
            or not isinstance(values, list)
            or not values
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 256 for v in values)
        ):
            raise DataError(f"added_tokens: expected id: [byte values] entries, got {token_id!r}: {values!r}")
        added[token_id] = bytes(values)
    return added


def _field(data: dict, name: str, kind: type) -> Any:
    if name not in data:
        raise DataError(f"missing field {name!r}")
    value = data[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataError(f"field {name!r}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32
