"""Progress bars on stderr (rich): one for counted work, one for tokenize jobs.

Both cost nothing when switched off, not even rich's import (a few hundredths of a second of
every ``tinygpt tokenize --no-progress``), so library callers can pass ``show_progress=False``.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class TokenizeProgress:
    """A rich progress bar over documents; ``enabled=False`` makes every call a no-op."""

    def __init__(self, enabled: bool) -> None:
        self._progress = _tokenize_bar() if enabled else None
        self._task: TaskID | None = None
        self._started = time.perf_counter()
        self._documents = 0
        self._text_bytes = 0

    def __enter__(self) -> TokenizeProgress:
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(kind, error, trace)

    def start(self, description: str, total_documents: int | None) -> None:
        """Begin (or restart) the bar; rates count from here."""
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._started = time.perf_counter()
        self._documents = 0
        self._text_bytes = 0
        self._task = self._progress.add_task(
            description, total=total_documents, megabytes=0.0, docs_per_s=0.0, mb_per_s=0.0
        )

    def advance(self, documents: int, text_bytes: int) -> None:
        if self._progress is None or self._task is None:
            return
        self._documents += documents
        self._text_bytes += text_bytes
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(
            self._task,
            completed=self._documents,
            megabytes=self._text_bytes / 1e6,
            docs_per_s=self._documents / elapsed,
            mb_per_s=self._text_bytes / 1e6 / elapsed,
        )


def _tokenize_bar() -> Progress:
    # Lazy: rich takes a few hundredths of a second to import, for a bar nobody may want.
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} docs"),
        TextColumn("{task.fields[megabytes]:,.1f} MB"),
        TextColumn("{task.fields[docs_per_s]:,.0f} docs/s"),
        TextColumn("{task.fields[mb_per_s]:,.2f} MB/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )


@contextlib.contextmanager
def progress_bar(
    description: str, total: int | None, *, unit: str, enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; the bar is drawn only when enabled (transient, on stderr)."""
    if not enabled:
        yield lambda n: None
        return
    # Lazy, as in _tokenize_bar.
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn(f"{{task.completed:,.0f}} {unit}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
