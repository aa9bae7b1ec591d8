"""The ``tinygpt`` command line: one module per sub-command, each with ``register``.

Building the parser imports every sub-command module, so they import torch (seconds) only
inside the functions that run a command; this is the one layer that imports lazily.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from tinygpt.errors import TinyGPTError

# Sub-command modules; each defines ``register(subparsers)`` which adds its parser
# and sets ``func`` (taking the parsed namespace, returning an exit code).
COMMANDS = (
    "tokenize",
    "gptrs",
    "train",
    "eval",
    "plot",
    "generate",
    "repl",
    "quickstart",
    "export",
)


def build_parser(commands: Sequence[str] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygpt",
        description="Train BPE tokenizers and small GPT story models; generate stories.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in commands:
        importlib.import_module(f"tinygpt.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # A named command needs only its own parser: the other modules cost ~20 ms of start-up
    # (a tenth of tokenizing 100 MB). Top-level help and a mistyped name get them all.
    named = argv[:1] if argv[:1] and argv[0] in COMMANDS else COMMANDS
    args = build_parser(named).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TinyGPTError as error:
        print(f"tinygpt {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
