"""metrics.jsonl: one JSON object per line, appended as training goes.

Record kinds: "train" (mean loss since the previous record, learning rate, tokens/s),
"eval" (mean loss over evaluation_iterations batches of each split) and "held_out" (exact
loss over every held-out token, bits per byte).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from tinygpt.atomic import atomic_write_text


class MetricsLog:
    """Appends records; on resume it first drops records past the resumed step, so the file
    reads as one uninterrupted run."""

    def __init__(self, path: Path, *, resume_step: int | None = None) -> None:
        self.path = path
        if resume_step is not None and path.is_file():
            kept = [line for line in path.read_text(encoding="utf-8").splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= resume_step]
            atomic_write_text(path, "".join(line + "\n" for line in kept))
        self._handle: IO[str] | None = None

    def write(self, kind: str, step: int, **values: Any) -> None:
        if self._handle is None:
            self._handle = self.path.open("a", encoding="utf-8")
        self._handle.write(json.dumps({"kind": kind, "step": step, **values}) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Every record of a metrics.jsonl, in order."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
