"""Command-line flags generated from a config dataclass: one `--field-name` per field.

Generating them keeps every config field settable from the command line without a second,
hand-kept list that could drift from the dataclass.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any


def _flag_type(field: dataclasses.Field) -> Any:
    annotation = str(field.type)
    if annotation.startswith("bool"):
        return bool
    for name, kind in (("int", int), ("float", float)):
        if annotation.split(" | ")[0] == name:
            return kind
    return str


def add_config_flags(parser: argparse.ArgumentParser, config_class: type, title: str, *, prefix: str) -> None:
    """Add ``--field-name`` for each field of ``config_class``; the parsed value lands in
    ``{prefix}{field}`` and stays None unless the flag is given."""
    group = parser.add_argument_group(title)
    for field in dataclasses.fields(config_class):
        flag = "--" + field.name.replace("_", "-")
        kind = _flag_type(field)
        default = field.default if field.default is not dataclasses.MISSING else None
        hint = "" if default is None else f" (default: {default})"
        if kind is bool:
            group.add_argument(
                flag,
                dest=prefix + field.name,
                default=None,
                action=argparse.BooleanOptionalAction,
                help=f"{field.name}{hint}",
            )
        else:
            group.add_argument(
                flag,
                dest=prefix + field.name,
                type=kind,
                default=None,
                metavar=kind.__name__.upper(),
                help=f"{field.name}{hint}",
            )


def config_overrides(args: argparse.Namespace, config_class: type, *, prefix: str) -> dict[str, Any]:
    """The fields of ``config_class`` that were given as flags."""
    values = {f.name: getattr(args, prefix + f.name) for f in dataclasses.fields(config_class)}
    return {name: value for name, value in values.items() if value is not None}
