"""Shard files: write/read round trips, atomic writes, and a header parser that never crashes."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygpt.data.shards as shards_module
from tests.data.shard_helpers import write_shard_dir
from tinygpt import _loader
from tinygpt.data import TokenLoader, read_header, write_shard
from tinygpt.data.shards import HEADER_BYTES, ShardBuilder, token_dtype
from tinygpt.errors import DataError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _header(magic: int, version: int, count: int) -> bytes:
    return struct.pack("<3i", magic, version, count) + bytes(HEADER_BYTES - 12)


@FUZZ
@given(st.lists(st.integers(0, 2**32 - 1), max_size=300), st.booleans())
def test_write_then_read_round_trips_tokens(tmp_path, tokens, wide):
    """What write_shard stores is what llm.c's layout says: header fields, then the tokens."""
    dtype = np.uint32 if wide else np.uint16
    values = np.array([t % (np.iinfo(dtype).max + 1) for t in tokens], dtype=dtype)
    path = tmp_path / "shard.bin"
    write_shard(path, values)
    header = read_header(path)
    assert header.dtype == np.dtype(dtype).name and header.token_count == values.size
    magic, version, count = struct.unpack("<3i", path.read_bytes()[:12])
    assert (magic, version, count) == ((20240801, 7) if wide else (20240520, 1)) + (values.size,)
    assert np.array_equal(np.fromfile(path, dtype=dtype, offset=HEADER_BYTES), values)


def test_uint32_variant_is_chosen_only_above_65536_tokens():
    assert token_dtype(65_536) == np.uint16
    assert token_dtype(65_537) == np.uint32


def test_write_shard_refuses_ids_that_do_not_fit(tmp_path):
    with pytest.raises(DataError, match="must lie in"):
        write_shard(tmp_path / "s.bin", np.array([70_000]), dtype=np.uint16)
    with pytest.raises(DataError, match="1-D integer array"):
        write_shard(tmp_path / "s.bin", np.array([1.5]))
    assert not list(tmp_path.iterdir()), "a refused write leaves nothing behind"


def test_an_abandoned_shard_leaves_no_file(tmp_path):
    """A killed or failed writer never leaves a shard that looks complete."""
    builder = ShardBuilder(tmp_path / "train_000000.bin", np.uint16)
    builder.append(np.arange(10))
    builder.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError):
        with ShardBuilder(tmp_path / "train_000000.bin", np.uint16) as writer:
            writer.append(np.arange(10))
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_header_errors_name_the_file_and_the_field(tmp_path):
    path = tmp_path / "bad.bin"
    cases = [
        (b"", "truncated: 0 bytes"),
        (_header(1234, 1, 0), "not a token shard: magic number 1234 at byte 0"),
        (_header(20240520, 7, 0), "unsupported version 7 at byte 4"),
        (_header(20240520, 1, -5), "corrupt header: negative token count -5 at byte 8"),
        (_header(20240520, 1, 3) + bytes(4), "truncated: the header announces 3 uint16 tokens"),
        (_header(20240801, 7, 1) + bytes(6), "2 unexpected bytes after the 1 tokens"),
    ]
    for data, message in cases:
        path.write_bytes(data)
        with pytest.raises(DataError, match=f"bad.bin: {message}"):
            read_header(path)
    with pytest.raises(DataError, match="not a regular file"):
        read_header(tmp_path)
    with pytest.raises(DataError, match="cannot open"):
        read_header(tmp_path / "absent.bin")


def _accepts_or_refuses(path) -> None:
    """The parser's whole contract: a DataError, or a header consistent with the file size."""
    try:
        header = read_header(path)
    except DataError:
        return
    width = 2 if header.dtype == "uint16" else 4
    assert HEADER_BYTES + header.token_count * width == path.stat().st_size


@FUZZ
@given(st.binary(max_size=2100))
def test_random_bytes_never_crash_the_parser(tmp_path, data):
    path = tmp_path / "random.bin"
    path.write_bytes(data)
    _accepts_or_refuses(path)


@FUZZ
@given(
    st.sampled_from([(20240520, 1, 2), (20240801, 7, 4)]),
    st.integers(0, 64),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-40, 40),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 255)), max_size=4),
)
def test_truncated_or_garbled_shards_raise_never_crash(tmp_path, fmt, tokens, count, size_change, flips):
    """Near-valid files (real magic, wrong count, cut or padded, header bytes flipped) are
    refused with DataError by the header parser and by the loader's full open."""
    magic, version, width = fmt
    data = bytearray(_header(magic, version, count) + bytes(tokens * width))
    for offset, value in flips:
        data[offset] = value
    data = data[: max(0, len(data) + size_change)] if size_change < 0 else data + bytes(size_change)
    path = tmp_path / "train_000000.bin"
    path.write_bytes(bytes(data))
    _accepts_or_refuses(path)
    try:
        store = _loader.TokenStore([str(path)], width, 0, 2**32 - 1)
    except DataError:
        return
    assert store.num_tokens * width + HEADER_BYTES == len(data)


def test_loader_open_rejects_every_truncation_of_a_real_shard(tmp_path):
    directory = write_shard_dir(tmp_path / "d", {"train": [[1, 2, 3, 4, 5, 6, 7, 8]] * 4}, documents_per_shard=4)
    shard = directory / "train_000000.bin"
    original = shard.read_bytes()
    for cut in [0, 1, 11, 1023, 1024, 1025, len(original) - 1]:
        shard.write_bytes(original[:cut])
        with pytest.raises(DataError, match="train_000000.bin"):
            TokenLoader(directory, 2, 4)


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="the OS has no posix_fadvise (macOS, Windows)")
def test_a_shard_hands_written_pages_back_as_it_goes(tmp_path, monkeypatch):
    """Every DROP_BEHIND_BYTES the builder asks the kernel to write out and drop what it wrote
    so far (a hint: the shard's content is exactly the same)."""
    calls = []
    monkeypatch.setattr(shards_module, "DROP_BEHIND_BYTES", 1000)
    real = os.posix_fadvise
    monkeypatch.setattr(os, "posix_fadvise", lambda *args: calls.append(args) or real(*args))
    pieces = [np.arange(i * 300, (i + 1) * 300, dtype=np.uint16) for i in range(5)]
    with ShardBuilder(tmp_path / "train_000000.bin", np.uint16) as builder:
        for piece in pieces:
            builder.append(piece)
    # 600 bytes a piece: a drop after every second piece, each over everything written so far
    assert [(offset, length) for _, offset, length, _ in calls] == [(0, HEADER_BYTES + 1200), (0, HEADER_BYTES + 2400)]
    assert all(advice == os.POSIX_FADV_DONTNEED for *_, advice in calls)
    written = np.fromfile(tmp_path / "train_000000.bin", dtype=np.uint16, offset=HEADER_BYTES)
    assert np.array_equal(written, np.concatenate(pieces))
    assert read_header(tmp_path / "train_000000.bin").token_count == 1500


def _refuse_advice(*args: object) -> None:
    raise OSError(22, "Invalid argument")


@pytest.mark.parametrize("fadvise", ["absent", "refused"])
def test_a_shard_is_written_where_the_os_gives_no_page_advice(tmp_path, monkeypatch, fadvise):
    """macOS and Windows have no posix_fadvise, and some file systems refuse it: the pages
    simply stay cached, and the shard is written as ever."""
    monkeypatch.setattr(shards_module, "DROP_BEHIND_BYTES", 1)
    if fadvise == "absent":
        monkeypatch.delattr(os, "posix_fadvise", raising=False)
    else:
        monkeypatch.setattr(os, "posix_fadvise", _refuse_advice, raising=False)
        monkeypatch.setattr(os, "POSIX_FADV_DONTNEED", 4, raising=False)
    with ShardBuilder(tmp_path / "train_000000.bin", np.uint16) as builder:
        builder.append(np.arange(100))
        builder.append(np.arange(100, 200))
    assert np.array_equal(
        np.fromfile(tmp_path / "train_000000.bin", dtype=np.uint16, offset=HEADER_BYTES), np.arange(200)
    )
