"""What the training loop tells whoever watches it. The loop only knows this protocol; the
live terminal display is the application's (tinygpt.cli.display), and a library caller gets
plain lines on stderr unless it passes a report of its own."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Protocol


class TrainingReport(Protocol):
    """Told of every logged step, every evaluation and every notable event of a run."""

    def __enter__(self) -> TrainingReport: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    def update(self, step: int, *, loss: float, lr: float, tokens_per_second: float) -> None: ...

    def evaluation(self, step: int, *, train_loss: float, val_loss: float) -> None: ...

    def message(self, text: str) -> None: ...


# (total steps or None when the run is planned in time, first step, enabled) -> a report.
ReportFactory = Callable[..., TrainingReport]


class PlainReport:
    """Evaluations and events as lines on stderr; silent when ``enabled`` is False."""

    def __init__(self, total_steps: int | None, start_step: int, *, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> PlainReport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None

    def update(self, step: int, *, loss: float, lr: float, tokens_per_second: float) -> None:
        return None  # a line per logged step would flood a log; evaluations carry the figures

    def evaluation(self, step: int, *, train_loss: float, val_loss: float) -> None:
        self.message(f"step {step}: train loss {train_loss:.4f}, held-out loss {val_loss:.4f}")

    def message(self, text: str) -> None:
        if self.enabled:
            print(text, file=sys.stderr)
