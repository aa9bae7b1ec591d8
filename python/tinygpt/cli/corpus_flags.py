"""Flags shared by the commands that read a corpus or encode text."""

from __future__ import annotations

import argparse

# The names tinygpt.data.sources.FORMATS accepts; spelled here so that building the parser does not
# import the data layer (start-up time).
FORMAT_NAMES = ("text", "txt", "parquet", "jsonl")


def add_format_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMAT_NAMES, metavar="FMT",
                        help="read SRC's files as text (txt), parquet or jsonl whatever their names "
                        "(default: by suffix)")
