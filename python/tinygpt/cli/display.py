"""The live training display on stderr (step, loss, held-out loss, learning rate, tokens/s, ETA):
the application's tinygpt.train.report.TrainingReport."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)


class TrainingDisplay:
    """A rich progress bar with the latest figures; silent when ``enabled`` is False."""

    def __init__(self, total_steps: int | None, start_step: int, *, enabled: bool) -> None:
        self.enabled = enabled
        self.console = Console(file=sys.stderr)
        self._progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("val {task.fields[val_loss]}"),
            TextColumn("lr {task.fields[lr]}"),
            TextColumn("{task.fields[tokens_per_second]} tok/s"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled,
        )
        self._task = self._progress.add_task(
            "train",
            total=total_steps,
            completed=start_step,
            loss="-",
            val_loss="-",
            lr="-",
            tokens_per_second="-",
        )

    def __enter__(self) -> TrainingDisplay:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def update(self, step: int, *, loss: float, lr: float, tokens_per_second: float) -> None:
        self._progress.update(
            self._task,
            completed=step,
            loss=f"{loss:.4f}",
            lr=f"{lr:.2e}",
            tokens_per_second=f"{tokens_per_second:,.0f}",
        )

    def evaluation(self, step: int, *, train_loss: float, val_loss: float) -> None:
        self._progress.update(self._task, val_loss=f"{val_loss:.4f}")
        self.message(f"step {step}: train loss {train_loss:.4f}, held-out loss {val_loss:.4f}")

    def message(self, text: str) -> None:
        """A line that stays above the bar (nothing when the display is off)."""
        if self.enabled:
            self._progress.console.print(text, highlight=False)
