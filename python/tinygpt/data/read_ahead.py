"""Reading a corpus on a background thread, a few items ahead of the code that consumes them.

Decompressing parquet releases the GIL, so the reading overlaps work on the calling thread:
the encoding of the previous batch, or, when started early, a command's own start-up (loading
the tokenizer is pure Python and leaves a core idle).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

_FINISHED = object()


class ReadAhead(Generic[T]):
    """``items``, produced up to ``depth`` ahead on a thread that starts at once; the reader's
    exception is raised in the consumer, in order. ``close()`` (or leaving ``with``) stops the
    thread, whether or not the items were consumed."""

    def __init__(self, items: Iterator[T], depth: int = 2) -> None:
        self._items = items
        self._slots: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._ended = False  # the consumer has seen the end or the reader's exception
        self._worker = threading.Thread(target=self._produce, name="tinygpt-read-ahead", daemon=True)
        self._worker.start()

    def _offer(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._offer(item):
                    return
            self._offer(_FINISHED)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._offer(exc)

    def __iter__(self) -> Iterator[T]:
        while not self._ended:
            item = self._slots.get()
            if item is _FINISHED or isinstance(item, BaseException):
                self._ended = True
                if item is _FINISHED:
                    return
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._worker.join()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items`` through a :class:`ReadAhead` that starts when iteration starts and stops when
    it ends, early or not."""
    with ReadAhead(items, depth) as ahead:
        yield from ahead
