"""Timing shared by the benchmarks: the best of several rounds, so load spikes on a shared
machine inflate neither side's figure."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import tinygpt


def best_seconds(run: Callable[[], object], rounds: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds of the fastest of ``rounds`` calls of ``run``: wall-clock, or ``clock``'s."""
    best = float("inf")
    for _ in range(rounds):
        start = clock()
        run()
        best = min(best, clock() - start)
    return best


# The child reports its own peak: Linux's VmHWM (ru_maxrss would carry over the size of the
# forking parent, the benchmark process, across exec), else ru_maxrss.
_PEAK_RSS = """
import resource, sys
from tinygpt.cli import main
code = main(sys.argv[1:])
try:
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
print("peak_rss_kb", kb, file=sys.stderr)
sys.exit(code)
"""


# An installed package starts from compiled bytecode; a checkout run with
# PYTHONDONTWRITEBYTECODE would compile every module at each start. So the child reads bytecode
# compiled once, outside the checkout, before the first timed start.
_BYTECODE_CACHE = Path(tempfile.gettempdir()) / "tinygpt-bench-bytecode"


@functools.cache
def _cli_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(_BYTECODE_CACHE)
    package = Path(tinygpt.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True, env=env)
    return env


def run_cli(args: list[str]) -> tuple[float, float, str]:
    """``tinygpt ARGS`` in a fresh process: (wall seconds, peak RSS in MB, stdout)."""
    env = _cli_environment()
    start = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *args], capture_output=True, text=True, check=True, env=env
    )
    seconds = time.perf_counter() - start
    peak_kb = int(finished.stderr.split("peak_rss_kb")[1].split()[0])
    return seconds, peak_kb / 1024, finished.stdout
