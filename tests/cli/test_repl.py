"""`tinygpt repl`: driven for real in a pseudo-terminal (pexpect), and scripted through a pipe."""

from __future__ import annotations

import io
import os
import sys

import pexpect
import pytest

from tests.ctrl_c import default_ctrl_c
from tests.generate.generation_run import make_generation_run, one_cpu_thread  # noqa: F401 (autouse)
from tinygpt.cli import main
from tinygpt.tokenizer import BPETokenizer

PROMPT = "› "
needs_pty = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals (pexpect.spawn) are POSIX-only")
ANSI_CYAN_BOLD = "\x1b[1;36m"
ANSI_GREEN = "\x1b[32m"


@pytest.fixture(scope="module")
def words_run(tmp_path_factory):
    """A gpt-rs-like run without an end-of-text token: answers only stop at the token limit."""
    return make_generation_run(tmp_path_factory.mktemp("repl") / "run", mode="words")


def spawn_repl(run, history, *extra: str) -> pexpect.spawn:
    env = {**os.environ, "TINYGPT_REPL_HISTORY": str(history), "TERM": "xterm-256color", "COLUMNS": "160"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "tinygpt", "repl", str(run), "--device", "cpu", *extra],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 160),
        preexec_fn=default_ctrl_c,
    )


@needs_pty
def test_terminal_session_commands_colours_and_history(words_run, tmp_path):
    """Prompts stream in colour with a status line; commands answer; bad ones get help; history persists."""
    history = tmp_path / "history"
    repl = spawn_repl(words_run, history, "--token-count", "30", "--seed", "3")
    repl.expect_exact("Commands:")
    repl.expect_exact(PROMPT)
    transcript = [repl.before]

    def send(line: str, *expected: str) -> str:
        """Type ``line``, wait for each expected text in order and the next prompt; return the screen."""
        repl.sendline(line)
        screen = ""
        for text in expected:
            repl.expect_exact(text)
            screen += repl.before + text
        repl.expect_exact(PROMPT)
        transcript.append(screen + repl.before)
        return transcript[-1]

    send("/temperature 1.5", "sampling: temperature 1.5")
    send("/top_p 7", "top_p must be a number in (0, 1]", "usage: /top_p P|off")
    send("/tokens lots", "expected an integer, got 'lots'", "usage: /tokens N")
    send("/nope", "unknown command /nope", "/temperature X")
    answer = send("Once upon", "30 tokens", "tokens/s", "temperature 1.5", "token limit")
    assert ANSI_CYAN_BOLD in answer and ANSI_GREEN in answer, "prompt and answer in their own colours"
    send("/tokens-view", "prompt tokens (bold) + 30 generated tokens")
    send("/tokenize Once", "id", "piece", "'On'")
    send("/info", "parameters", "31,616", "words BPE")
    send("/greedy", "sampling: greedy")
    repl.sendline("/quit")
    repl.expect(pexpect.EOF)
    repl.close()
    assert repl.exitstatus == 0
    assert "Traceback" not in "".join(transcript)
    saved = history.read_text().splitlines()
    assert saved[:2] == ["/temperature 1.5", "/top_p 7"] and "Once upon" in saved and saved[-1] == "/quit"

    again = spawn_repl(words_run, history)
    again.expect_exact(PROMPT)
    again.send("\x1b[A")  # up-arrow: readline shows the last line of the last session
    again.expect_exact("/quit")
    again.send("\x1b[A")  # and the one before it (redrawn in place: only "greedy" is written)
    again.expect_exact("greedy")
    again.sendline("")
    again.expect_exact("sampling: greedy")
    again.sendeof()
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0


@needs_pty
def test_ctrl_c_stops_a_long_answer_and_returns_to_the_prompt(words_run, tmp_path):
    """Ctrl-C mid-generation keeps the session alive; Ctrl-C at the prompt is harmless; Ctrl-D exits."""
    repl = spawn_repl(words_run, tmp_path / "history", "--token-count", "100000")
    repl.expect_exact(PROMPT)
    repl.sendline("Once")
    repl.expect_exact(ANSI_GREEN)  # the answer has started streaming
    repl.expect(r"\S{20}")  # and keeps going
    repl.sendintr()
    repl.expect_exact("interrupted")
    repl.expect_exact(PROMPT)
    repl.sendintr()
    repl.expect_exact(PROMPT)
    repl.sendline("/tokens 4")
    repl.expect_exact("answers stop after 4 tokens")
    repl.sendline("The cat")
    repl.expect_exact("4 tokens")
    repl.expect_exact(PROMPT)
    repl.sendeof()
    repl.expect(pexpect.EOF)
    repl.close()
    assert repl.exitstatus == 0
    assert "Traceback" not in repl.before


def test_piped_stdin_gives_one_plain_answer_per_line(words_run, monkeypatch, capsys):
    """Scripted use: each line a prompt or command, plain text out, same answers for the same seed."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("Once upon\n/greedy\nThe cat\n\n/tokens-view\n/quit\nnever\n"))
    assert main(["repl", str(words_run), "--device", "cpu", "--token-count", "12", "--seed", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "\x1b" not in "\n".join(lines)
    assert lines[0].startswith("Once upon") and len(lines[0]) > len("Once upon")
    assert lines[1] == "sampling: greedy"
    assert lines[2].startswith("The cat")
    tok = BPETokenizer.load(words_run / "tokenizer.ron")
    prompt_pieces = "".join(tok.decode([t]) + "|" for t in tok.encode("The cat"))
    assert lines[3].startswith(prompt_pieces), "token boundaries are visible without colours"
    assert lines[3].count("|") == len(tok.encode("The cat")) + 12
    assert not any("never" in line for line in lines)


def test_user_text_never_becomes_a_special_token(tmp_path, monkeypatch, capsys):
    """Typing <|endoftext|> is plain text in the REPL (it would otherwise end the answer at once)."""
    run = make_generation_run(tmp_path / "bytes", mode="bytes")
    monkeypatch.setattr(sys, "stdin", io.StringIO("/tokenize <|endoftext|>\n"))
    assert main(["repl", str(run), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    tok = BPETokenizer.load(run / "tokenizer.ron")
    assert tok.encode("<|endoftext|>", allowed_special="all") == [tok.eot_id]
    plain = tok.encode("<|endoftext|>", allowed_special="none")
    assert out.startswith(f"{len(plain)} tokens") and len(plain) > 1
    assert f"│ {tok.eot_id} " not in out
