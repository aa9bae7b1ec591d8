"""Pre-tokenisation patterns: the named ones run on compiled scanners, others on ``regex``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

from tinygpt import _bpe
from tinygpt.errors import ConfigError

# tiktoken's spellings (r50k / cl100k); the compiled scanners implement exactly these.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
GPT4_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
NAMED_PATTERNS = {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN}
_SPLITTERS = {"gpt2": _bpe.SPLIT_GPT2, "gpt4": _bpe.SPLIT_GPT4}


@dataclass(frozen=True)
class PreTokenizer:
    """How bytes-mode text is cut into pieces before BPE.

    ``splitter`` is the compiled scanner's code; for a custom pattern it is ``SPLIT_WHOLE`` and
    ``split`` (the whole matches of the ``regex`` module, capture groups or not) cuts the text
    in Python first.
    """

    pattern: str
    splitter: int
    split: Callable[[str], list[str]] | None = None


def resolve_pattern(pattern: str | None) -> PreTokenizer:
    """``"gpt2"``, ``"gpt4"`` (or their exact regex text) or any regex the ``regex`` module accepts."""
    for name, text in NAMED_PATTERNS.items():
        if pattern in (name, text):
            return PreTokenizer(name, _SPLITTERS[name])
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"pattern must be 'gpt2', 'gpt4' or a regex string, got {pattern!r}")
    try:
        import regex
    except ImportError as exc:  # pragma: no cover - regex ships with the dev extra
        raise ConfigError("custom pre-tokenisation patterns need the 'regex' package") from exc
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise ConfigError(f"invalid pre-tokenisation pattern {pattern!r}: {exc}") from exc
    return PreTokenizer(pattern, _bpe.SPLIT_WHOLE, lambda text: _pieces(compiled, text))


def _pieces(compiled: Any, text: str) -> list[str]:
    """The pattern's matches, and the text between them as pieces of its own: a pattern that
    does not match every character (``[a-z]+`` skips spaces, capitals, punctuation) must never
    drop text, or decode(encode(text)) would lose it."""
    pieces: list[str] = []
    position = 0
    for match in compiled.finditer(text):
        if match.start() > position:
            pieces.append(text[position : match.start()])
        if match.end() > match.start():
            pieces.append(match.group())
        position = max(position, match.end())
    if position < len(text):
        pieces.append(text[position:])
    return pieces


def split_at_specials(text: str, specials: Mapping[str, int]) -> list[tuple[str, int | None]]:
    """``text`` cut at the given special tokens: (ordinary text, None) and (name, id) items."""
    if not specials:
        return [(text, None)] if text else []
    names = sorted(specials, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(name) for name in names))
    out: list[tuple[str, int | None]] = []
    pos = 0
    for match in pattern.finditer(text):
        if match.start() > pos:
            out.append((text[pos : match.start()], None))
        out.append((match.group(), specials[match.group()]))
        pos = match.end()
    if pos < len(text):
        out.append((text[pos:], None))
    return out
