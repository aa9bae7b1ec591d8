"""Budgets in CPU seconds for the recipe scripts: on a machine other jobs load, a process's own
CPU time (on one thread) is what an idle core would have given it in wall time."""

from __future__ import annotations

import time


class _CpuTime:
    """Stands in for the time module inside tinygpt's training loop and pace."""

    perf_counter = staticmethod(time.process_time)


def use_cpu_clock() -> None:
    """Make `tinygpt.train` count this process's CPU seconds wherever it reads the clock (the
    time plan, the timed estimates, ``max_seconds``)."""
    import tinygpt.train.loop
    import tinygpt.train.pace

    tinygpt.train.loop.time = _CpuTime  # type: ignore[assignment]
    tinygpt.train.pace.time = _CpuTime  # type: ignore[assignment]
