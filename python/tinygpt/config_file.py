"""Config files, read and written as ``.ron`` (gpt-rs's format) or ``.json``, by one rule.

The suffix decides the format, the same for every config: ``.ron`` or ``.json``, anything else
is refused (a typo such as ``config.rno`` would otherwise be read as the wrong format). Both
formats are checked the same way: every unknown field and every missing required field is
reported, naming the file, so a typo is never silently ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinygpt import ron
from tinygpt.atomic import atomic_write_text
from tinygpt.errors import ConfigError, DataError

SUFFIXES = (".ron", ".json")


def config_suffix(path: str | os.PathLike[str], what: str) -> str:
    """``".ron"`` or ``".json"``, from ``path``'s suffix; ConfigError for any other."""
    suffix = Path(path).suffix
    if suffix not in SUFFIXES:
        raise ConfigError(f"{path}: a {what} file must end in .ron or .json")
    return suffix


def read_config_file(
    path: str | os.PathLike[str],
    *,
    required: set[str] | frozenset[str],
    optional: Mapping[str, Any] | None = None,
    what: str,
) -> dict[str, Any]:
    """The fields of a ``.ron`` struct or ``.json`` object; missing optional fields get their
    defaults. ``what`` names the config ("transformer config") in messages."""
    optional = dict(optional or {})
    if config_suffix(path, what) == ".json":
        fields = read_json_object(Path(path), what)
    else:
        fields = _read_ron_struct(Path(path), what)
    unknown = sorted(set(fields) - set(required) - set(optional))
    missing = sorted(set(required) - set(fields))
    problems = []
    if unknown:
        allowed = ", ".join(sorted(set(required) | set(optional)))
        problems.append(f"unknown field(s) {', '.join(unknown)} (allowed: {allowed})")
    if missing:
        problems.append(f"missing field(s) {', '.join(missing)}")
    if problems:
        raise ConfigError(f"{path}: {what}: " + "; ".join(problems))
    return {**optional, **fields}


def write_config_file(fields: Mapping[str, Any], path: str | os.PathLike[str], *, what: str) -> None:
    """Write ``fields`` as a ``.ron`` struct or a ``.json`` object, by suffix, atomically."""
    if config_suffix(path, what) == ".json":
        atomic_write_text(path, json.dumps(dict(fields), indent=2) + "\n")
    else:
        ron.dump(dict(fields), path)


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON file that must hold an object (``what`` names it in messages); ConfigError otherwise."""
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {what} {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: invalid UTF-8 at byte offset {error.start}") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from error
    if not isinstance(fields, dict):
        raise ConfigError(f"{path}: expected a JSON object of {what} fields")
    return fields


def _read_ron_struct(path: Path, what: str) -> dict[str, Any]:
    try:
        value = ron.load(path)
    except DataError as error:
        raise ConfigError(f"{what}: {error}") from error
    if type(value) is not dict:
        found = "an empty struct" if value == () else f"a {type(value).__name__}"
        raise ConfigError(f"{path}: expected a {what} struct `(field: value, ...)`, found {found}")
    return value
