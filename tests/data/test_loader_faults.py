"""The compiled loader under faults: a failed thread start or buffer allocation, or a shard that
shrinks while it is mapped, ends in a Python exception (DataError naming the file for the
latter), never in a dead process.

Thread and allocation failures are injected through the test-only ``tinygpt._loader._fail_nth``.
Shrinking shards run in subprocesses: without the guard they die of SIGBUS.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tinygpt import _loader
from tinygpt.data import TokenLoader, tokenize_corpus
from tinygpt.data.sources import embedded_corpus_path
from tinygpt.tokenizer import BPETokenizer

posix_only = pytest.mark.skipif(not hasattr(signal, "SIGBUS"), reason="SIGBUS is POSIX")


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """The embedded stories in several small shards per split (a few pages each)."""
    directory = tmp_path_factory.mktemp("shards")
    tokenizer = BPETokenizer.train(embedded_corpus_path(), 300, mode="bytes")
    tokenize_corpus(embedded_corpus_path(), tokenizer, directory, shard_tokens=20_000, show_progress=False)
    assert len(list(directory.glob("train_*.bin"))) >= 2
    return directory


@pytest.fixture
def own_shards(shards, tmp_path) -> Path:
    """A copy of the shards that a test may damage."""
    return Path(shutil.copytree(shards, tmp_path / "shards"))


@pytest.fixture
def fail_nth():
    yield _loader._fail_nth
    for point in ("thread_start", "buffer_allocation"):
        _loader._fail_nth(point, 0)


def first_batch(shards: Path) -> torch.Tensor:
    return next(TokenLoader(shards, 8, 16))[0]


def test_failed_prefetch_thread_start_raises_and_the_loader_goes_on(shards, fail_nth):
    loader = TokenLoader(shards, 8, 16)
    fail_nth("thread_start", 1)
    with pytest.raises(RuntimeError, match="cannot start a thread"):
        next(loader)
    assert torch.equal(next(loader)[0], first_batch(shards))  # no batch was lost


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core indexes shards on one thread")
def test_failed_thread_start_while_indexing_shards_raises(shards, fail_nth):
    fail_nth("thread_start", 1)
    with pytest.raises(RuntimeError, match="cannot start a thread"):
        TokenLoader(shards, 8, 16)
    assert TokenLoader(shards, 8, 16).num_tokens > 0


def test_failed_buffer_allocation_on_the_prefetch_thread_raises(shards, fail_nth):
    loader = TokenLoader(shards, 8, 16)
    fail_nth("buffer_allocation", 1)
    with pytest.raises(MemoryError):
        next(loader)
    with pytest.raises(MemoryError):  # the stream stays failed ...
        next(loader)
    loader.close()  # ... until it is restarted
    assert torch.equal(next(loader)[0], first_batch(shards))


def test_failed_buffer_allocation_in_the_evaluation_sweep_raises(shards, fail_nth):
    loader = TokenLoader(shards, 8, 16, split="val")
    fail_nth("buffer_allocation", 1)
    with pytest.raises(MemoryError):
        list(loader.iter_eval())
    assert sum(len(x) for x, _ in loader.iter_eval()) > 0


TRUNCATE_UNDER_LOADER = """
import os, sys
from tinygpt.data import TokenLoader
from tinygpt.errors import DataError

loader = TokenLoader(sys.argv[1], 8, 16)
next(loader)
os.truncate(loader.manifest.shard_paths("train")[0], 1024)
for read in (lambda: [next(loader) for _ in range(10_000)], lambda: list(loader.iter_eval())):
    try:
        read()
        print("no error")
    except DataError as error:
        print("DataError:", error)
"""


@posix_only
def test_shard_truncated_under_a_loader_is_a_data_error_naming_it(own_shards):
    """Training batches and the evaluation sweep both fail cleanly; the process exits normally,
    also with Python's faulthandler installed before tinygpt's own handler."""
    shard = own_shards / "train_000000.bin"
    result = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", TRUNCATE_UNDER_LOADER, str(own_shards)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line.startswith(f"DataError: {shard}: the file became shorter"), line


FOREIGN_BUS_ERROR = """
import faulthandler, mmap, os, sys
if sys.argv[3] == "faulthandler":
    faulthandler.enable()
from tinygpt import _loader
_loader.read_header(sys.argv[1])  # a guarded read: installs tinygpt's SIGBUS handler
path = sys.argv[2]
with open(path, "wb") as file:
    file.write(bytes(65536))
with open(path, "rb") as file:
    view = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
os.truncate(path, 0)
print(view[40000])
"""


def no_core_dump() -> None:
    import resource  # POSIX only, like the tests that call this

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@posix_only
@pytest.mark.parametrize("previous", ["faulthandler", "default"])
def test_bus_error_outside_the_loader_still_reaches_the_previous_handler(shards, tmp_path, previous):
    """tinygpt's handler owns only faults of its own reads; any other SIGBUS goes on to the
    handler installed before it (faulthandler's traceback) or to the default action."""
    result = subprocess.run(
        [sys.executable, "-c", FOREIGN_BUS_ERROR, str(shards / "train_000000.bin"), str(tmp_path / "mapped"), previous],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=no_core_dump,
    )
    assert result.returncode == -signal.SIGBUS, result.stderr
    assert ("Fatal Python error: Bus error" in result.stderr) == (previous == "faulthandler")


@posix_only
def test_shard_truncated_during_training_is_a_one_line_data_error(own_shards, tmp_path):
    run = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "tinygpt",
        "train",
        "--data",
        str(own_shards),
        "--out",
        str(run),
        "--embedding-size",
        "16",
        "--context-length",
        "16",
        "--head-count",
        "1",
        "--block-count",
        "1",
        "--training-iterations",
        "1000000",
        "--evaluation-interval",
        "20",
        "--evaluation-iterations",
        "1",
        "--contexts-per-batch",
        "4",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--no-progress",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        metrics = run / "metrics.jsonl"
        while not (metrics.is_file() and metrics.stat().st_size > 0):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "training did not start"
            time.sleep(0.2)
        shard = own_shards / "train_000000.bin"
        os.truncate(shard, 1024)
        _, stderr = process.communicate(timeout=240)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 2, stderr
    assert f"{shard}: the file became shorter" in stderr
    assert "Traceback" not in stderr
