"""The compiled sources keep the one C++ style of .clang-format (both extensions, csrc/)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Formatting changes between clang-format releases: the check runs with the dev extra's pin.
PINNED = "23.1.5"


def find_clang_format() -> str | None:
    """The dev extra's clang-format (the PyPI wheel), else one on PATH."""
    try:
        import clang_format  # optional: only the dev extra installs it
    except ImportError:
        return shutil.which("clang-format")
    return clang_format.get_executable("clang-format")


def test_csrc_is_clang_formatted():
    clang_format = find_clang_format()
    if clang_format is None:
        pytest.skip(f"clang-format not installed (pip install clang-format=={PINNED})")
    version = subprocess.run([clang_format, "--version"], capture_output=True, text=True).stdout
    if PINNED not in version:
        pytest.skip(f"clang-format {PINNED} formats csrc/, this is: {version.strip()}")
    sources = sorted(str(p) for p in (ROOT / "csrc").rglob("*") if p.suffix in (".hpp", ".cpp"))
    result = subprocess.run([clang_format, "--dry-run", "--Werror", *sources], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
