"""The interactive REPL: type the start of a story, watch the model continue it.

In a terminal it uses rich (prompt and answer in their own colours, a status line after each
answer) and readline (line editing, up-arrow history kept in a file across sessions). With stdin
piped it reads one prompt or command per line and prints plain text, so it can be scripted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import torch
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tinygpt.atomic import atomic_write_text
from tinygpt.cli.repl.commands import CommandError, Settings, describe_sampler, help_text, run_command
from tinygpt.errors import TinyGPTError
from tinygpt.generate import TextStream

if TYPE_CHECKING:
    from tinygpt.model.gpt import GPT
    from tinygpt.tokenizer import BPETokenizer

HISTORY_ENV = "TINYGPT_REPL_HISTORY"
HISTORY_LENGTH = 1000
PROMPT_STYLE = "bold cyan"
ANSWER_STYLE = "green"
TOKEN_STYLES = ("black on bright_cyan", "black on bright_yellow")
FINISH_REASONS = {"length": "token limit", "end_of_text": "end of text", "stop": "stop string"}


def history_path() -> Path:
    """$TINYGPT_REPL_HISTORY, else $XDG_CACHE_HOME/tinygpt/repl_history (~/.cache by default)."""
    if os.environ.get(HISTORY_ENV):
        return Path(os.environ[HISTORY_ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "tinygpt" / "repl_history"


class History:
    """Line editing and up-arrow history via readline, saved to a file (nothing without readline)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            import readline
        except ImportError:  # Windows' Python ships without readline
            self.readline = None
        else:
            self.readline = readline

    def load(self) -> None:
        if self.readline is None or not self.path.is_file():
            return
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines()[-HISTORY_LENGTH:]:
            self.readline.add_history(line)

    def save(self) -> None:
        if self.readline is None:
            return
        count = self.readline.get_current_history_length()
        lines = [self.readline.get_history_item(i) for i in range(max(1, count - HISTORY_LENGTH + 1), count + 1)]
        atomic_write_text(self.path, "".join(f"{line}\n" for line in lines if line))


class Repl:
    """One session: settings, the last answer (for /tokens-view) and the console it writes to."""

    def __init__(
        self,
        model: GPT,
        tokenizer: BPETokenizer,
        *,
        console: Console,
        settings: Settings | None = None,
        stop: Iterable[str] = (),
        description: str = "",
        on_unknown: str = "error",
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.console = console
        self.settings = settings or Settings()
        self.stop = tuple(stop)
        self.description = description
        self.on_unknown = on_unknown
        self.running = True
        self.last_prompt: list[int] = []
        self.last_answer: list[int] = []

    # ---------------------------------------------------------------- output
    def say(self, text: str) -> None:
        self.console.print(text, style="dim", markup=False, highlight=False)

    def complain(self, text: str) -> None:
        self.console.print(text, style="red", markup=False, highlight=False)

    # ---------------------------------------------------------------- lines
    def handle(self, line: str, *, interactive: bool) -> None:
        """A slash command or a prompt to continue; problems are reported, never raised."""
        if line.startswith("/"):
            try:
                run_command(self, line)
            except CommandError as error:
                self.complain(str(error))
        elif line.strip():
            self.answer(line, interactive=interactive)

    def answer(self, text: str, *, interactive: bool) -> None:
        """Stream the continuation of ``text``; Ctrl-C stops it and returns to the prompt."""
        try:
            prompt = self.tokenizer.encode(text, on_unknown=self.on_unknown)
        except TinyGPTError as error:
            self.complain(str(error))
            return
        settings = self.settings
        device = next(self.model.parameters()).device
        generator = None if settings.seed is None else torch.Generator(device=device).manual_seed(settings.seed)
        stream = TextStream(
            self.model,
            self.tokenizer,
            prompt,
            settings.max_new_tokens,
            settings.sampler,
            generator=generator,
            stop=self.stop,
        )
        self.console.print(text, style=PROMPT_STYLE, end="", markup=False, highlight=False, soft_wrap=True)
        start = time.perf_counter()
        first_token = None
        interrupted = False
        try:
            for piece in stream:
                first_token = first_token or time.perf_counter() - start
                self.console.print(piece, style=ANSWER_STYLE, end="", markup=False, highlight=False, soft_wrap=True)
        except KeyboardInterrupt:
            interrupted = True
        elapsed = time.perf_counter() - start
        self.console.print()
        self.last_prompt, self.last_answer = prompt, list(stream.token_ids)
        if interactive:
            self.say(
                self._status(
                    len(stream.token_ids), elapsed, first_token, "interrupted" if interrupted else stream.finish_reason
                )
            )

    def _status(self, count: int, elapsed: float, first_token: float | None, reason: str | None) -> str:
        parts = [
            f"{count} tokens",
            f"{count / elapsed:.1f} tokens/s" if elapsed > 0 else "",
            f"first token {first_token * 1e3:.0f} ms" if first_token else "",
            describe_sampler(self.settings.sampler),
            FINISH_REASONS.get(reason or "", reason or ""),
        ]
        return " · ".join(part for part in parts if part)

    # ---------------------------------------------------------------- views
    def _piece(self, token: int) -> str:
        return self.tokenizer.token_bytes(token).decode("utf-8", errors="replace")

    def show_last_tokens(self) -> None:
        """The last prompt (bold) and answer, each token on alternating colours."""
        if not self.last_prompt:
            self.say("nothing generated yet: type a prompt first")
            return
        view = Text()
        # Without colours (piped output) a bar marks each boundary instead.
        separator = "|" if self.console.color_system is None else ""
        for index, token in enumerate(self.last_prompt + self.last_answer):
            style = TOKEN_STYLES[index % 2] + (" bold" if index < len(self.last_prompt) else "")
            view.append(self._piece(token).replace("\n", "↵\n") + separator, style=style)
        self.console.print(view, soft_wrap=True)
        self.say(f"{len(self.last_prompt)} prompt tokens (bold) + {len(self.last_answer)} generated tokens")

    def show_tokenization(self, text: str) -> None:
        try:
            ids = self.tokenizer.encode(text, on_unknown=self.on_unknown)
        except TinyGPTError as error:
            self.complain(str(error))
            return
        table = Table("#", "id", "piece", "bytes", title=f"{len(ids)} tokens")
        for position, token in enumerate(ids):
            table.add_row(
                str(position), str(token), repr(self._piece(token)), self.tokenizer.token_bytes(token).hex(" ")
            )
        self.console.print(table)

    def show_info(self) -> None:
        config = self.model.config
        parameter = next(self.model.parameters())
        table = Table(show_header=False, box=None)
        rows = [
            ("model", self.description or "GPT"),
            ("parameters", f"{self.model.num_parameters():,}"),
            (
                "layout",
                f"{config.block_count} blocks × {config.head_count} heads, embedding {config.embedding_size}, "
                f"context {config.context_length}, {config.activation}",
            ),
            ("device", f"{parameter.device} ({str(parameter.dtype).removeprefix('torch.')})"),
            (
                "tokenizer",
                f"{self.tokenizer.mode} BPE, {self.tokenizer.vocab_size} tokens, special "
                f"{', '.join(self.tokenizer.special_tokens) or 'none'}, fingerprint "
                f"{self.tokenizer.fingerprint()[:12]}",
            ),
            (
                "sampling",
                f"{describe_sampler(self.settings.sampler)}, up to {self.settings.max_new_tokens} tokens"
                + (f", seed {self.settings.seed}" if self.settings.seed is not None else ""),
            ),
        ]
        for key, value in rows:
            table.add_row(Text(key, style="bold"), Text(value))
        self.console.print(table)

    # ---------------------------------------------------------------- loops
    def interact(self, history: History) -> None:
        """Read prompts from the terminal until /quit or Ctrl-D."""
        history.load()
        self.say(f"{self.description}\n{help_text()}")
        prompt = _readline_prompt("› ", self.console)
        try:
            while self.running:
                try:
                    self.handle(input(prompt), interactive=True)
                except KeyboardInterrupt:  # at the prompt, or before an answer started streaming
                    self.console.print()
                except EOFError:
                    self.console.print()
                    break
        finally:
            history.save()

    def run_lines(self, lines: Iterable[str]) -> None:
        """Scripted use: one prompt or command per line, plain text out."""
        for line in lines:
            self.handle(line.rstrip("\r\n"), interactive=False)
            if not self.running:
                break


def _readline_prompt(text: str, console: Console) -> str:
    """The prompt in colour, its escape codes marked invisible so readline measures it right."""
    with console.capture() as capture:
        console.print(text, style=PROMPT_STYLE, end="", markup=False, highlight=False)
    coloured = capture.get()
    if coloured == text:
        return text
    start, _, end = coloured.partition(text)
    return f"\001{start}\002{text}\001{end}\002"


def start(
    model: GPT,
    tokenizer: BPETokenizer,
    *,
    settings: Settings,
    stop: Iterable[str] = (),
    description: str = "",
    on_unknown: str = "error",
) -> None:
    """Interactive in a terminal, line by line (plain text) when stdin is piped."""
    interactive = sys.stdin.isatty()
    console = Console(highlight=False) if interactive else Console(color_system=None, highlight=False, soft_wrap=True)
    repl = Repl(
        model, tokenizer, console=console, settings=settings, stop=stop, description=description, on_unknown=on_unknown
    )
    if interactive:
        repl.interact(History(history_path()))
    else:
        repl.run_lines(sys.stdin)
