"""The REPL's slash commands: parsing their arguments and changing the session settings.

Each command is a small function taking the session and its argument text; a bad value raises
``CommandError`` with the reason, and the REPL answers with that reason and the command's usage.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from tinygpt import limits
from tinygpt.errors import ConfigError, TinyGPTError
from tinygpt.model.decoding import TokenSampler


class CommandError(TinyGPTError):
    """A slash command with an unknown name or a bad value; the REPL shows help, not a traceback."""


@dataclass
class Settings:
    """What the next answer is sampled with; the slash commands change it."""

    sampler: TokenSampler = TokenSampler()
    max_new_tokens: int = 200
    seed: int | None = None


class Session(Protocol):
    """What the commands act on (``Repl`` in session.py), so this module need not import it."""

    settings: Settings
    running: bool

    def say(self, text: str) -> None: ...

    def show_last_tokens(self) -> None: ...

    def show_tokenization(self, text: str) -> None: ...

    def show_info(self) -> None: ...


@dataclass(frozen=True)
class Command:
    usage: str
    summary: str
    run: Callable[[Session, str], None]


def _number(text: str, kind: type) -> int | float:
    try:
        return kind(text)
    except ValueError:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise CommandError(f"expected {'an integer' if kind is int else 'a number'}, got {shown!r}") from None


def _optional(text: str, kind: type) -> int | float | None:
    return None if text in ("off", "none") else _number(text, kind)


def _resample(repl: Session, **changes: Any) -> None:
    """Apply sampling changes, turning TokenSampler's validation errors into command errors."""
    try:
        repl.settings.sampler = dataclasses.replace(repl.settings.sampler, **changes)
    except ConfigError as error:
        raise CommandError(str(error)) from None
    repl.say(f"sampling: {describe_sampler(repl.settings.sampler)}")


def temperature(repl: Session, arg: str) -> None:
    _resample(repl, temperature=_number(arg, float), greedy=False)


def top_k(repl: Session, arg: str) -> None:
    _resample(repl, top_k=_optional(arg, int))


def top_p(repl: Session, arg: str) -> None:
    _resample(repl, top_p=_optional(arg, float))


def greedy(repl: Session, arg: str) -> None:
    _resample(repl, greedy=not repl.settings.sampler.greedy)


def _limited(check: Callable[[int], int], value: int) -> int:
    try:
        return check(value)
    except ConfigError as error:
        raise CommandError(str(error)) from None


def tokens(repl: Session, arg: str) -> None:
    count = _limited(limits.token_count, int(_number(arg, int)))
    repl.settings.max_new_tokens = count
    repl.say(f"answers stop after {count} tokens")


def seed(repl: Session, arg: str) -> None:
    value = _optional(arg, int)
    repl.settings.seed = None if value is None else _limited(limits.seed, int(value))
    repl.say(
        "each answer is sampled afresh"
        if repl.settings.seed is None
        else f"each answer is sampled with seed {repl.settings.seed} (same prompt, same answer)"
    )


def tokens_view(repl: Session, arg: str) -> None:
    repl.show_last_tokens()


def tokenize(repl: Session, arg: str) -> None:
    if not arg:
        raise CommandError("give the text to tokenize")
    repl.show_tokenization(arg)


def info(repl: Session, arg: str) -> None:
    repl.show_info()


def show_help(repl: Session, arg: str) -> None:
    repl.say(help_text())


def quit_repl(repl: Session, arg: str) -> None:
    repl.running = False


COMMANDS: dict[str, Command] = {
    "temperature": Command("/temperature X", "softmax temperature, X > 0 (turns greedy off)", temperature),
    "top_k": Command("/top_k N|off", "sample among the N most likely tokens", top_k),
    "top_p": Command("/top_p P|off", "nucleus sampling: smallest set of tokens with mass P", top_p),
    "tokens": Command("/tokens N", "maximum tokens per answer", tokens),
    "seed": Command("/seed N|off", "sample every answer with this seed", seed),
    "greedy": Command("/greedy", "toggle greedy decoding (always the most likely token)", greedy),
    "tokens-view": Command("/tokens-view", "show the last answer with its token boundaries coloured", tokens_view),
    "tokenize": Command("/tokenize TEXT", "table of the token ids and pieces of TEXT", tokenize),
    "info": Command("/info", "model, parameters, device and tokenizer", info),
    "help": Command("/help", "this list", show_help),
    "quit": Command("/quit", "leave (Ctrl-D does too)", quit_repl),
}


def help_text() -> str:
    width = max(len(c.usage) for c in COMMANDS.values())
    lines = ["Type a prompt and press Enter to continue it; Ctrl-C stops an answer.", "Commands:"]
    lines += [f"  {c.usage:<{width}}  {c.summary}" for c in COMMANDS.values()]
    return "\n".join(lines)


def describe_sampler(sampler: TokenSampler) -> str:
    if sampler.greedy:
        return "greedy"
    parts = [f"temperature {sampler.temperature:g}"]
    if sampler.top_k is not None:
        parts.append(f"top_k {sampler.top_k}")
    if sampler.top_p is not None:
        parts.append(f"top_p {sampler.top_p:g}")
    return ", ".join(parts)


def run_command(repl: Session, line: str) -> None:
    """Execute ``/name argument``; unknown names raise CommandError listing the commands."""
    name, _, arg = line[1:].strip().partition(" ")
    command = COMMANDS.get(name)
    if command is None:
        raise CommandError(f"unknown command /{name}\n{help_text()}")
    try:
        command.run(repl, arg.strip())
    except CommandError as error:
        raise CommandError(f"{error}\nusage: {command.usage}  ({command.summary})") from None
