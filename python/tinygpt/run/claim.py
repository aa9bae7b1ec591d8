"""Claiming a run directory for training: the one place that decides whether `tinygpt train`
may write into a directory, holds it against a second writer, and clears what a killed run
left behind.

A lock file (``RUN/train.lock``, holding the writer's pid and host) keeps two trainings of one
run from interleaving their checkpoints; a lock whose process is gone on this host is stale and
taken over. Leftovers of a kill -9 (temporary checkpoint directories, checkpoints pruned
halfway, temporary files of atomic writes) are removed under the lock, before training.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from tinygpt.errors import ConfigError
from tinygpt.run.layout import (
    MODEL_FILE,
    CheckpointIndex,
    RunError,
    RunLayout,
    require_run,
)

LOCK_NAME = "train.lock"
# What `tinygpt train` writes into a new run; a run killed before its first checkpoint holds
# only these, and starting it again removes them.
_RUN_FILES = ("run.json", "tokenizer.ron", "transformer_config.ron", "train_config.ron", "metrics.jsonl", "checkpoints")


@contextlib.contextmanager
def claim_new_run(layout: RunLayout) -> Iterator[None]:
    """Hold ``layout.root`` for a new training: refused when it is a file, not writable, holds
    a run with a checkpoint (resume it) or other files; a run that never reached its first
    checkpoint is cleared and started afresh. A directory created here and left empty by a
    failure is removed again."""
    root = layout.root
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--out {root} is an existing file; choose a directory name")
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"--out {root}: cannot create the run directory ({error.strerror or error})") from None
    try:
        with _locked(layout):
            _clear_or_refuse(layout)
            yield
    finally:
        if created:
            with contextlib.suppress(OSError):
                root.rmdir()  # only succeeds when the failed start left it empty


@contextlib.contextmanager
def claim_existing_run(layout: RunLayout) -> Iterator[None]:
    """Hold a run to resume it, after removing the leftovers of a killed writer."""
    require_run(layout)
    with _locked(layout):
        remove_leftovers(layout)
        if CheckpointIndex.read(layout).last is None:
            raise RunError(
                f"{layout.root} has no checkpoint to resume: its training stopped before the "
                f"first one; start it again with `tinygpt train --data SHARDS --out {layout.root}`"
            )
        yield


def remove_leftovers(layout: RunLayout) -> None:
    """Delete what a killed writer left, and nothing else: temporary files of the run's own
    atomic writes, temporary checkpoint directories, and checkpoint directories the index no
    longer lists (pruned halfway, or written but never indexed)."""
    if layout.root.is_dir():
        for entry in layout.root.iterdir():
            if any(entry.name.startswith(f".{name}.") for name in _RUN_FILES) and entry.suffix == ".tmp":
                _remove(entry)
    if layout.checkpoints.is_dir():
        kept = CheckpointIndex.read(layout).kept
        for entry in layout.checkpoints.iterdir():
            temporary = entry.name.startswith((".step_", ".index.json."))
            unlisted = entry.is_dir() and entry.name.startswith("step_") and entry.name not in kept
            if temporary or unlisted:
                _remove(entry)


def _clear_or_refuse(layout: RunLayout) -> None:
    remove_leftovers(layout)
    entries = {entry.name for entry in layout.root.iterdir()} - {LOCK_NAME}
    if entries and entries <= set(_RUN_FILES):
        index = CheckpointIndex.read(layout)
        if index.last is not None and (layout.checkpoints / index.last / MODEL_FILE).is_file():
            raise ConfigError(
                f"{layout.root} already holds a run; continue it with --resume {layout.root} or choose a new --out"
            )
        print(f"{layout.root}: clearing a run that stopped before its first checkpoint", file=sys.stderr)
        for name in entries:
            _remove(layout.root / name)
    others = sorted(entry.name for entry in layout.root.iterdir() if entry.name != LOCK_NAME)
    if others:
        raise ConfigError(
            f"{layout.root} exists and is not empty ({', '.join(others[:3])}"
            f"{', ...' if len(others) > 3 else ''}); choose a new --out"
        )


@contextlib.contextmanager
def _locked(layout: RunLayout) -> Iterator[None]:
    path = layout.root / LOCK_NAME
    _acquire(path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def _acquire(path: Path) -> None:
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is None or _alive(*holder):
                pid = "an unknown process" if holder is None else f"process {holder[0]} on {holder[1]}"
                raise RunError(
                    f"{path.parent} is being trained by {pid} (lock {path}); wait "
                    "for it to finish, or delete the lock if that process is gone"
                ) from None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # stale: its writer died without removing it
            continue
        except OSError as error:
            raise ConfigError(f"{path.parent}: cannot write here ({error.strerror or error})") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {socket.gethostname()}\n")
        return
    raise RunError(f"{path}: another process keeps taking this lock; try again")


def _holder(path: Path) -> tuple[int, str] | None:
    try:
        pid, host = path.read_text(encoding="utf-8").split()
        return int(pid), host
    except (OSError, ValueError):
        return None  # being written right now, or damaged: treat as held


def _alive(pid: int, host: str) -> bool:
    """Whether the lock's writer still runs; one on another host is assumed to."""
    if host != socket.gethostname():
        return True
    if sys.platform == "win32":
        import ctypes  # Windows only: os.kill(pid, 0) would send it Ctrl-C there

        handle = ctypes.windll.kernel32.OpenProcess(0x100000, False, pid)  # SYNCHRONIZE
        if not handle:
            return False
        still_running = ctypes.windll.kernel32.WaitForSingleObject(handle, 0) == 0x102
        ctypes.windll.kernel32.CloseHandle(handle)
        return still_running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
