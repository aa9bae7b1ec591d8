"""Flags shared by the commands that read a corpus or encode text (kept free of heavy imports:
every command module is imported to build the parser)."""

from __future__ import annotations

import argparse

# The names tinygpt.data.sources.FORMATS accepts; spelled here so that building the parser does not
# import the data layer (start-up time).
FORMAT_NAMES = ("text", "txt", "parquet", "jsonl")


def add_format_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMAT_NAMES,
        metavar="FMT",
        help="read SRC's files as text (txt), parquet or jsonl whatever their names (default: by suffix)",
    )


def add_on_unknown_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--on-unknown",
        default="error",
        metavar="error|skip|CHAR",
        help="words-mode tokenizers with a closed alphabet: what to do with a character "
        "outside it: stop with an error (default), skip it, or put CHAR (a known "
        "character) in its place",
    )
