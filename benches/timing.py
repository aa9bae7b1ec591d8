"""Timing shared by the benchmarks: the best of several rounds, so load spikes on a shared
machine inflate neither side's figure."""

from __future__ import annotations

import time
from typing import Callable


def best_seconds(run: Callable[[], object], rounds: int) -> float:
    """Wall-clock seconds of the fastest of ``rounds`` calls of ``run``."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best
