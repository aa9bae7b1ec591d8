"""Ctrl-C never loses what was produced: generate prints the text sampled so far (exit 130)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.ctrl_c import default_ctrl_c
from tests.generate.generation_run import make_generation_run


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX-only")
def test_ctrl_c_in_generate_prints_the_text_so_far(tmp_path):
    run = make_generation_run(tmp_path / "run", mode="words")  # no end-of-text: never stops alone
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tinygpt",
            "generate",
            str(run),
            "--input",
            "Once upon",
            "--token-count",
            "100000",
            "--device",
            "cpu",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_ctrl_c,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = child.stderr.readline()
        if line.startswith("loaded"):
            break
    time.sleep(1.0)  # let it sample for a while
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert out.startswith("Once upon") and len(out.strip()) > len("Once upon") + 5
    assert "Traceback" not in err
