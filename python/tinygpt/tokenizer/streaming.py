"""Text for the streaming encoder: the block size of its compiled steps, and files read in
blocks that end on character boundaries."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

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


def file_text_blocks(path: str | os.PathLike[str]) -> Iterator[str]:
    """The file's text in blocks of about FILE_BLOCK_BYTES, each ending on a character."""
    for block in file_utf8_blocks(path):
        yield block.decode("utf-8")


def file_utf8_blocks(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The file's bytes in blocks of about FILE_BLOCK_BYTES that end on a character, checked
    to be UTF-8 (DataError naming the byte offset)."""
    try:
        with open(path, "rb") as handle:
            yield from _decoded_blocks(handle, path)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _decoded_blocks(handle: BinaryIO, path: str | os.PathLike[str]) -> Iterator[bytes]:
    carry = b""
    offset = 0  # file offset of carry[0]
    while True:
        block = handle.read(FILE_BLOCK_BYTES)
        data = carry + block
        end = len(data) if not block else _complete_utf8_end(data)
        checked = data[:end]
        try:
            checked.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: invalid UTF-8 at byte offset {offset + exc.start}") from None
        if checked:
            yield checked
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
