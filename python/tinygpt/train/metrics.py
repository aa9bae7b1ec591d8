"""metrics.jsonl: one JSON object per line, appended as training goes.

Record kinds: "train" (mean loss since the previous record, learning rate, tokens/s),
"eval" (mean loss over evaluation_iterations batches of each split) and "held_out" (exact
loss over every held-out token, bits per byte).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import IO, Any

from tinygpt.atomic import atomic_write_text
from tinygpt.run.layout import RunError


class MetricsLog:
    """Appends records; on resume it first drops records past the resumed step, so the file
    reads as one uninterrupted run."""

    def __init__(self, path: Path, *, resume_step: int | None = None) -> None:
        self.path = path
        if resume_step is not None and path.is_file():
            kept = [r for r in read_metrics(path) if r.get("step", 0) <= resume_step]
            atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))
        self._handle: IO[str] | None = None

    def write(self, kind: str, step: int, **values: Any) -> None:
        if self._handle is None:
            self._handle = self.path.open("a", encoding="utf-8")
        record = {"kind": kind, "step": step, **{k: _strict(v) for k, v in values.items()}}
        self._handle.write(json.dumps(record, allow_nan=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _strict(value: Any) -> Any:
    """NaN and infinity as null: the file stays strict JSON that every reader accepts."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Every record of a metrics.jsonl, in order; RunError naming the line of a damaged one."""
    records = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except ValueError as error:  # UnicodeDecodeError included
                if not raw.endswith(b"\n") and not handle.read(1):
                    break  # the unfinished last line of a writer killed mid-write
                raise RunError(f"{path}:{number}: not a JSON record ({error})") from None
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("step"), int)
                or not isinstance(record.get("kind"), str)
            ):
                raise RunError(f'{path}:{number}: not a metrics record (an object with "kind" and "step")')
            records.append(record)
    return records
