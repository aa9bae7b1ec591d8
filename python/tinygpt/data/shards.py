"""llm.c token shards: write them atomically, read and validate their headers.

A shard is a 1024-byte header of 256 little-endian int32 (magic, version, token count, zeros)
followed by the tokens: uint16 (magic 20240520, version 1) or, for vocabularies above 65,536,
uint32 (magic 20240801, version 7). The header constants and the reader live in the compiled
``tinygpt._loader`` so the C++ loader and this module can never disagree.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from tinygpt import _loader
from tinygpt.atomic import atomic_write
from tinygpt.errors import DataError

HEADER_BYTES: int = _loader.HEADER_BYTES
MAX_SHARD_TOKENS = 2**31 - 1  # the header stores the count as an int32
UINT16_VOCAB_LIMIT = 2**16
# ShardBuilder hands the kernel the pages it has written every this many bytes: see _drop_behind.
DROP_BEHIND_BYTES = 32 << 20


@dataclass(frozen=True)
class ShardHeader:
    """What a shard's header says, after checking it against the file length."""

    dtype: str
    token_count: int


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every id fits (llm.c's GPT-2 shards), else llm.c's uint32 variant."""
    return np.dtype(np.uint16 if vocab_size <= UINT16_VOCAB_LIMIT else np.uint32)


def read_header(path: str | os.PathLike[str]) -> ShardHeader:
    """Validate ``path``'s header (magic, version, size); raise DataError naming the file.

    >>> read_header("out/train_000000.bin")
    ShardHeader(dtype='uint16', token_count=97245)
    """
    dtype, count = _loader.read_header(os.fspath(path))
    return ShardHeader(dtype=dtype, token_count=count)


def encode_header(dtype: np.dtype, token_count: int) -> bytes:
    """The 1024-byte header for ``token_count`` tokens of ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.name not in _loader.FORMATS:
        raise DataError(f"shards hold uint16 or uint32 tokens, not {dtype.name}")
    if not 0 <= token_count <= MAX_SHARD_TOKENS:
        raise DataError(f"a shard holds at most {MAX_SHARD_TOKENS} tokens, not {token_count}")
    magic, version = _loader.FORMATS[dtype.name]
    header = np.zeros(HEADER_BYTES // 4, dtype="<i4")
    header[:3] = (magic, version, token_count)
    return header.tobytes()


def _as_tokens(tokens: np.ndarray, dtype: np.dtype) -> np.ndarray:
    tokens = np.asarray(tokens)
    if tokens.ndim != 1 or tokens.dtype.kind not in "iu":
        raise DataError(f"tokens must be a 1-D integer array, got {tokens.dtype} {tokens.shape}")
    # Ids of a type that ``dtype`` holds (a tokenizer's uint16 ids for a uint16 shard) need no
    # range check: two passes over every batch that ``tinygpt tokenize`` writes.
    if (
        tokens.size
        and not np.can_cast(tokens.dtype, dtype, "safe")
        and (int(tokens.min()) < 0 or int(tokens.max()) > np.iinfo(dtype).max)
    ):
        raise DataError(f"token ids must lie in [0, {np.iinfo(dtype).max}] to be stored as {dtype.name}")
    return np.ascontiguousarray(tokens, dtype=np.dtype(dtype).newbyteorder("<"))


def write_shard(path: str | os.PathLike[str], tokens: np.ndarray, dtype: np.dtype | None = None) -> None:
    """Write ``tokens`` as one shard, atomically (a crash never leaves a shard that looks valid).

    ``dtype`` defaults to the tokens' own dtype when it is uint16/uint32, else uint16 when the
    largest id fits, else uint32.

    >>> write_shard("tokens.bin", np.array([50256, 15496, 995], dtype=np.uint16))
    >>> read_header("tokens.bin")
    ShardHeader(dtype='uint16', token_count=3)
    """
    tokens = np.asarray(tokens)
    if dtype is None:
        if tokens.dtype.name in _loader.FORMATS:
            dtype = tokens.dtype
        else:
            dtype = token_dtype(int(tokens.max()) + 1 if tokens.size else 0)
    dtype = np.dtype(dtype)
    data = _as_tokens(tokens, dtype)
    with atomic_write(path) as handle:
        handle.write(encode_header(dtype, data.size))
        handle.write(data.data.cast("B"))


def _drop_behind(handle: IO[Any]) -> None:
    """Start writing ``handle``'s pages to disk and let the kernel reuse the ones already there.

    A tokenize job writes gigabytes that nothing reads until training, so keeping them cached
    only takes memory from everything else; and every fresh page-cache page costs a first
    touch, which on a VM is dear: 503 MB written in 4 MB pieces took 2.0 s of system time
    with the pages kept, 0.5 s dropped behind (benches/bench_shard_write.py).
    POSIX_FADV_DONTNEED starts writeback of dirty pages without waiting and drops the clean
    ones, so each call frees what the previous call sent to disk. A hint only: where the OS has
    no posix_fadvise (macOS, Windows) or the file system refuses it, the pages stay cached.
    """
    if hasattr(os, "posix_fadvise"):
        handle.flush()
        with contextlib.suppress(OSError):
            os.posix_fadvise(handle.fileno(), 0, handle.tell(), os.POSIX_FADV_DONTNEED)


class ShardBuilder:
    """A shard written in pieces straight to its temp file, published atomically by finish().

    Keeps memory flat when a shard holds hundreds of millions of tokens; abort() (or an
    exception inside ``with``) removes the temp file and leaves ``path`` untouched.
    """

    def __init__(self, path: str | os.PathLike[str], dtype: np.dtype) -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.token_count = 0
        self.crc32 = 0  # of the token bytes, recorded in the manifest to detect damage later
        self._stack = contextlib.ExitStack()
        self._handle: IO[Any] = self._stack.enter_context(atomic_write(self.path))
        self._handle.write(bytes(HEADER_BYTES))
        self._written_since_drop = 0

    def append(self, tokens: np.ndarray) -> None:
        data = _as_tokens(tokens, self.dtype)
        if self.token_count + data.size > MAX_SHARD_TOKENS:
            raise DataError(f"{self.path}: a shard holds at most {MAX_SHARD_TOKENS} tokens")
        chunk = data.data.cast("B")
        self._handle.write(chunk)
        self.crc32 = zlib.crc32(chunk, self.crc32)
        self.token_count += data.size
        self._written_since_drop += chunk.nbytes
        if self._written_since_drop >= DROP_BEHIND_BYTES:
            _drop_behind(self._handle)
            self._written_since_drop = 0

    def finish(self) -> None:
        self._handle.seek(0)
        self._handle.write(encode_header(self.dtype, self.token_count))
        self._stack.close()

    def abort(self) -> None:
        """Remove the temp file; ``path`` stays as it was."""
        self._stack.__exit__(DataError, DataError(f"{self.path}: shard abandoned"), None)

    def __enter__(self) -> ShardBuilder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.finish()
        else:
            self._stack.__exit__(exc_type, exc, traceback)
