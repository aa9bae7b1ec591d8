"""ReadAhead: items produced by a thread of their own, in order, errors in place, stoppable."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tinygpt.data.read_ahead import ReadAhead
from tinygpt.errors import DataError


def test_items_arrive_in_order_and_the_thread_ends():
    with ReadAhead(iter(range(100)), depth=3) as numbers:
        assert list(numbers) == list(range(100))
        assert list(numbers) == []  # exhausted stays exhausted
    assert not any(thread.name == "tinygpt-read-ahead" for thread in threading.enumerate())


def test_the_producer_runs_ahead_by_at_most_depth_items():
    produced: list[int] = []

    def counting() -> Iterator[int]:
        for i in range(50):
            produced.append(i)
            yield i

    with ReadAhead(counting(), depth=2) as numbers:
        assert next(numbers) == 0
        time.sleep(0.3)  # time for the producer to fill the queue
        # one item taken, two queued, one more produced and waiting to be queued
        assert len(produced) <= 4


def test_an_error_comes_out_after_the_items_before_it():
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise DataError("corpus.parquet: row 7 of column 'text' is null")

    numbers = ReadAhead(failing(), depth=4)
    assert next(numbers) == 1
    assert next(numbers) == 2
    with pytest.raises(DataError, match="row 7"):
        next(numbers)
    with pytest.raises(StopIteration):
        next(numbers)


def test_closing_early_stops_an_endless_producer():
    def endless() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    numbers = ReadAhead(endless(), depth=2)
    assert next(numbers) == 0
    numbers.close()  # returns: the producer saw the stop while waiting on the full queue
    assert not any(thread.name == "tinygpt-read-ahead" for thread in threading.enumerate())


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        ReadAhead(iter(()), depth=0)
