"""Out-of-range numbers on the command line and in the REPL: refused with one line, exit 2,
before anything runs (no traceback, no endless generation, no dead session)."""

from __future__ import annotations

import io
import re
import sys

import pytest

from tests.generate.generation_run import make_generation_run, one_cpu_thread  # noqa: F401 (autouse)
from tinygpt import limits
from tinygpt.cli import main
from tinygpt.errors import ConfigError

HUGE = "9" * 5000


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_generation_run(tmp_path_factory.mktemp("args") / "run")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "d", "--out", "o", "--max-seconds", "nan"], "positive number of seconds, got nan"),
        (["train", "--data", "d", "--out", "o", "--max-seconds", "-1"], "positive number of seconds"),
        (["train", "--data", "d", "--out", "o", "--seed", str(2**64)], r"\[0, 2\*\*64 - 1\]"),
        (["train", "--data", "d", "--out", "o", "--seed", "-1"], r"\[0, 2\*\*64 - 1\]"),
        (["train", "--data", "d", "--out", "o", "--threads", "0"], "at least 1, got 0"),
        (["tokenize", "--data", "d", "--out", "o", "--threads", "0"], "at least 1, got 0"),
        (["quickstart", "--train-seconds", "nan"], "positive number of seconds"),
        (["generate", "RUN", "--input", "x", "--token-count", "100001"], r"\[1, 100,000\]"),
        (["generate", "RUN", "--input", "x", "--token-count", "0"], r"\[1, 100,000\]"),
        (["generate", "RUN", "--input", "x", "--seed", HUGE], "an integer of 5000 digits is out of range"),
        (["repl", "RUN", "--seed", HUGE], "an integer of 5000 digits is out of range"),
    ],
)
def test_bad_numbers_are_refused_while_parsing(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "Traceback" not in error and len(error.splitlines()[-1]) < 200
    assert re.search(message, error.splitlines()[-1])


def test_the_library_refuses_them_too(tmp_path):
    from tinygpt.train import train

    with pytest.raises(ConfigError, match="seconds"):
        train(tmp_path, tmp_path / "run", None, None, max_seconds=float("nan"))
    with pytest.raises(ConfigError, match="seed"):
        train(tmp_path, tmp_path / "run", None, None, seed=2**70)
    with pytest.raises(ConfigError, match="an integer of about 41 digits"):
        limits.seed(-(10**40))


def test_repl_refuses_a_huge_seed_or_token_count_and_keeps_going(run, monkeypatch, capsys):
    """`/seed` with a huge value once killed the session at the next prompt."""
    script = f"/seed {2**80}\n/seed {HUGE}\n/tokens 10000000\n/tokens 5\nOnce\n/quit\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main(["repl", str(run), "--device", "cpu", "--token-count", "3", "--seed", "1"]) == 0
    output = capsys.readouterr()
    text = output.out + output.err
    assert "the seed must lie in [0, 2**64 - 1], got 1208925819614629174706176" in text
    assert "an integer of 5000 digits" in text or "expected an integer" in text
    assert "the token count must lie in [1, 100,000]" in text
    assert "answers stop after 5 tokens" in text
    assert any(line.startswith("Once") for line in output.out.splitlines())
