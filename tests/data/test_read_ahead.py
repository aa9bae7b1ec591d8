"""The corpus read-ahead thread: order, errors, early stops, and an eager start."""

from __future__ import annotations

import threading

import pytest

from tinygpt.data.read_ahead import ReadAhead, read_ahead
from tinygpt.errors import DataError


def test_read_ahead_keeps_order_passes_errors_and_stops_early():
    """The corpus read-ahead thread yields items in order, re-raises the reader's error in the
    caller, and ends when the caller stops early (no hang, no stray thread)."""
    assert list(read_ahead(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise DataError("corpus.txt:3: broken")

    with pytest.raises(DataError, match="broken"):
        list(read_ahead(failing()))
    before = threading.active_count()
    for item in read_ahead(iter(range(10**6)), depth=1):
        if item == 3:
            break
    assert threading.active_count() == before


def test_read_ahead_starts_reading_before_the_first_item_is_asked_for():
    """ReadAhead reads while its caller does other work (a command's start-up), holds no more
    than ``depth`` items, and close() stops it even when nothing was consumed."""
    read = threading.Semaphore(0)

    def items():
        for i in range(10**6):
            read.release()
            yield i

    before = threading.active_count()
    ahead = ReadAhead(items(), depth=3)
    for _ in range(3):  # produced with nobody consuming yet
        assert read.acquire(timeout=10)
    ahead.close()
    assert threading.active_count() == before

    with ReadAhead(iter(range(5)), depth=2) as ahead:
        assert list(ahead) == list(range(5))
        assert list(ahead) == []  # a second pass ends at once, never hangs


def test_read_ahead_raises_the_readers_error_once():
    def failing():
        yield "a"
        raise DataError("stories.parquet: row 7 of column 'text' is null")

    with ReadAhead(failing()) as ahead:
        items = iter(ahead)
        assert next(items) == "a"
        with pytest.raises(DataError, match="row 7"):
            next(items)
        assert list(ahead) == []
