"""Bad `--data` paths and unreadable inputs give a one-line error and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinygpt", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "command",
    [
        ["tokenize", "--vocab-size", "300", "--out", "{tmp}/out"],
        ["train", "--out", "{tmp}/run"],
    ],
)
def test_missing_data_path_is_named_in_the_error(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "no-such-corpus.parquet"
    args = [part.format(tmp=tmp_path) for part in command] + ["--data", str(missing)]
    result = run_cli(*args)
    assert result.returncode != 0
    assert "no-such-corpus.parquet" in result.stderr
    assert "Traceback" not in result.stderr


def test_unsupported_file_type_is_a_clear_error(tmp_path: Path) -> None:
    corpus = tmp_path / "stories.docx"
    corpus.write_bytes(b"PK\x03\x04 not a corpus")
    result = run_cli("tokenize", "--data", str(corpus), "--vocab-size", "300", "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "stories.docx" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_parquet_is_a_clear_error(tmp_path: Path) -> None:
    corpus = tmp_path / "broken.parquet"
    corpus.write_bytes(b"PAR1" + b"\x00" * 64)
    result = run_cli("tokenize", "--data", str(corpus), "--vocab-size", "300", "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "broken.parquet" in result.stderr
    assert "Traceback" not in result.stderr
