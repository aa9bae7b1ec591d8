"""Atomic writes: the target is replaced whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tinygpt.atomic import atomic_write, atomic_write_text


def test_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "tokenizer.ron"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write(b"half a fi")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_successful_write_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "config.ron"
    atomic_write_text(target, "(a: 1)\n")
    assert target.read_text() == "(a: 1)\n"


def test_written_file_has_the_usual_permissions(tmp_path: Path) -> None:
    old_mask = os.umask(0o022)
    try:
        target = tmp_path / "model.json"
        atomic_write_text(target, "{}")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
