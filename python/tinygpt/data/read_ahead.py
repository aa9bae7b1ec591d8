"""Items produced ahead by a thread of their own, so that reading overlaps other work.

``tinygpt tokenize`` spends its first few tenths of a second on one core (loading the
tokenizer, setting up the job) while the other idles; decoding the corpus's first batches there
shortens the rest, when every core encodes. Readers that release the GIL (pyarrow's) gain most.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.05  # how often a producer waiting on a full queue checks for a stop


class _End:
    """What the producer queues last: the error that stopped it, or None at the end."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """Iterate ``items`` in order, produced up to ``depth`` items ahead by a background thread
    that starts at once.

    An error raised while producing comes out of the consumer's ``next()`` at its place in the
    order. ``close()`` (or leaving a ``with`` block) stops the thread, also halfway through.

    >>> with ReadAhead(iter(range(5)), depth=2) as numbers:
    ...     list(numbers)
    [0, 1, 2, 3, 4]
    """

    def __init__(self, items: Iterable[T], depth: int) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._queue: queue.Queue[T | _End] = queue.Queue(depth)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._produce, args=(items,), name="tinygpt-read-ahead", daemon=True)
        self._thread.start()

    def _produce(self, items: Iterable[T]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as error:  # raised again in the consumer, where it can be handled
            self._put(_End(error))
            return
        self._put(_End(None))

    def _put(self, entry: T | _End) -> bool:
        """Queue ``entry`` unless the consumer has stopped; False when it has."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        entry = self._queue.get()
        if not isinstance(entry, _End):
            return entry
        self._finished = True
        self.close()
        if entry.error is not None:
            raise entry.error
        raise StopIteration

    def close(self) -> None:
        """Stop producing and wait for the thread (at most the item it is producing)."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
