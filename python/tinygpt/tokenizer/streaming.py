"""Text for the streaming encoder: chunks gathered into UTF-8 blocks, and files read in blocks
that end on character boundaries. The compiled stream steps need whole characters."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from tinygpt import _bpe
from tinygpt.errors import DataError

# Text gathered per compiled encoding step (a step has a fixed cost, too much for a line), and
# bytes read per file block.
STREAM_BLOCK_BYTES = 64 << 10
FILE_BLOCK_BYTES = 1 << 20


def checked_chunks(chunks: Iterable[str]) -> Iterator[str]:
    for number, chunk in enumerate(chunks):
        if not isinstance(chunk, str):
            raise TypeError(f"chunk {number} is {type(chunk).__name__}, expected str")
        yield chunk


def utf8_blocks(chunks: Iterable[str]) -> Iterator[bytes]:
    """The chunks gathered into blocks of about STREAM_BLOCK_BYTES characters, as UTF-8 (each
    compiled step has a fixed cost, too much for a line). A surrogate pair split across blocks is
    joined first, as in the whole text; lone surrogates become U+FFFD, as in ``encode``."""
    pending: list[str] = []
    size = 0
    gathered = 0
    carry = ""
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        gathered += 1
        if size >= STREAM_BLOCK_BYTES:
            text = carry + _joined(pending, gathered)
            carry = text[-1] if "\ud800" <= text[-1] <= "\udbff" else ""
            yield _utf8(text[: len(text) - len(carry)])
            pending, size = [], 0
    text = carry + _joined(pending, gathered)
    if text:
        yield _utf8(text)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _bpe.utf8_safe(text).encode("utf-8")


def _joined(pending: list[str], gathered: int) -> str:
    """``"".join(pending)``; a chunk that is not str is a TypeError naming its number."""
    try:
        return "".join(pending)
    except TypeError:
        index, bad = next((i, c) for i, c in enumerate(pending) if not isinstance(c, str))
        raise TypeError(f"chunk {gathered - len(pending) + index} is {type(bad).__name__}, expected str") from None


def file_utf8_blocks(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The file's bytes in blocks that end on character boundaries, checked to be UTF-8."""
    for text in file_text_blocks(path):
        yield text.encode("utf-8")


def file_text_blocks(path: str | os.PathLike[str]) -> Iterator[str]:
    """The file's text in blocks of about FILE_BLOCK_BYTES, each ending on a character."""
    try:
        with open(path, "rb") as handle:
            yield from _decoded_blocks(handle, path)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _decoded_blocks(handle: BinaryIO, path: str | os.PathLike[str]) -> Iterator[str]:
    carry = b""
    offset = 0  # file offset of carry[0]
    while True:
        block = handle.read(FILE_BLOCK_BYTES)
        data = carry + block
        end = len(data) if not block else _complete_utf8_end(data)
        try:
            text = data[:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: invalid UTF-8 at byte offset {offset + exc.start}") from None
        if text:
            yield text
        carry, offset = data[end:], offset + end
        if not block:
            return


def _complete_utf8_end(data: bytes) -> int:
    """Length of ``data`` without a UTF-8 character cut off at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:  # a lead byte: complete if its sequence fits in what follows it
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= needed else len(data) - back
    return len(data)
