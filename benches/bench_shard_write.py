"""Writing token shards: ShardBuilder, which hands written pages back to the kernel as it goes
(drop-behind), against the same builder with drop-behind off and a plain write of the same ids,
both of which leave the pages in the page cache.

All three write the same uint16 ids in pieces of 4 MB (a ``tinygpt tokenize`` batch's ids), each
into a new file, and fsync it at the end as an atomic writer must, so none leaves writeback
behind for the next round (the builder also computes the CRC the manifest records). The sides alternate over the rounds; the files are removed only
after the last round, so that every write lands on page-cache pages that no earlier write freed,
as a tokenize job's output does. Reported: the median over the rounds of each side's wall
seconds and system CPU seconds, and their ratios. 480 MB a write with
``TINYGPT_BENCH_FULL=1`` (5 rounds), 16 MB in quick mode.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import tinygpt.data.shards as shards_module
from tinygpt.data.shards import HEADER_BYTES, ShardBuilder

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
PIECES, ROUNDS = (120, 5) if FULL else (4, 1)
PIECE = np.random.default_rng(0).integers(0, 50257, 2 << 20, dtype=np.uint16)  # 4 MB of ids


def write_with_shard_builder(path: Path) -> None:
    with ShardBuilder(path, np.uint16) as builder:
        for _ in range(PIECES):
            builder.append(PIECE)


def write_with_pages_kept(path: Path) -> None:
    drop_behind, shards_module.DROP_BEHIND_BYTES = shards_module.DROP_BEHIND_BYTES, 1 << 62
    try:
        write_with_shard_builder(path)
    finally:
        shards_module.DROP_BEHIND_BYTES = drop_behind


def write_plainly(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(bytes(HEADER_BYTES))
        for _ in range(PIECES):
            handle.write(PIECE.data)
        handle.flush()
        os.fsync(handle.fileno())


def timed(write: Callable[[Path], None], path: Path) -> tuple[float, float]:
    """(wall seconds, system CPU seconds) of one write."""
    wall, system = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
    write(path)
    return time.perf_counter() - wall, resource.getrusage(resource.RUSAGE_SELF).ru_stime - system


def test_shard_builder_drop_behind_vs_plain_write(benchmark, tmp_path):
    sides = {
        "ShardBuilder (drop-behind)": write_with_shard_builder,
        "ShardBuilder, pages kept": write_with_pages_kept,
        "plain write": write_plainly,
    }

    def rounds() -> dict[str, list[tuple[float, float]]]:
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for round_index in range(ROUNDS):
            for side_index, (name, write) in enumerate(sides.items()):
                times[name].append(timed(write, tmp_path / f"{round_index}-{side_index}.bin"))
        return times

    times = benchmark.pedantic(rounds, rounds=1, iterations=1)
    ours, kept, plain = (
        {kind: statistics.median(t[i] for t in times[name]) for i, kind in enumerate(("wall", "sys"))} for name in sides
    )
    megabytes = PIECES * PIECE.nbytes / 1e6
    figures = {
        "megabytes": round(megabytes),
        "shard_builder_wall_s": round(ours["wall"], 3),
        "shard_builder_sys_s": round(ours["sys"], 3),
        "pages_kept_wall_s": round(kept["wall"], 3),
        "pages_kept_sys_s": round(kept["sys"], 3),
        "plain_wall_s": round(plain["wall"], 3),
        "plain_sys_s": round(plain["sys"], 3),
        "speed_up_vs_pages_kept": round(kept["wall"] / ours["wall"], 2),
        "speed_up_vs_plain": round(plain["wall"] / ours["wall"], 2),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    benchmark.extra_info.update(figures)
    print("\nshard writing, median of rounds: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    for index in range(len(sides)):
        written = np.fromfile(tmp_path / f"0-{index}.bin", dtype=np.uint16, offset=HEADER_BYTES)
        assert written.size == PIECES * PIECE.size and np.array_equal(written[-PIECE.size :], PIECE)
