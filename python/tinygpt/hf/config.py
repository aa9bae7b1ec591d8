"""transformers' ``config.json``: reading it, and the checks and mappings that its GPT-2 and
GPT-NeoX readers (``hf.gpt2``, ``hf.neox``) share.

Every field that changes what the network computes is mapped or refused by name; fields that
only matter to transformers' own training or heads (``initializer_range``, ``summary_*``) are
ignored. Dropouts map approximately (transformers drops the branch outputs, tinygpt the residual
stream); they only act while training, so imported logits and samples are unaffected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinygpt.config_file import read_json_object
from tinygpt.errors import ConfigError
from tinygpt.hf.files import CONFIG_FILE

# transformers' activation names -> ours ("gelu_pytorch_tanh" is gelu_new computed by torch).
ACTIVATION_FROM_HF = {"gelu_new": "gelu_new", "gelu_pytorch_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}
ACTIVATION_TO_HF = {"gelu_new": "gelu_new", "gelu": "gelu", "relu": "relu"}


def read_hf_config(directory: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a transformers model directory."""
    return read_json_object(directory / CONFIG_FILE, "transformers config")


def _stated(fields: dict[str, Any], name: str, default: Any) -> str:
    """``name=value`` as the file has it, or as transformers reads it when the file leaves it out."""
    if name in fields:
        return f"{name}={fields[name]!r}"
    return f"{name} (absent, which transformers reads as {json.dumps(default)})"


def require(fields: dict[str, Any], name: str, *, default: Any, supported: Any, source: str, why: str = "") -> None:
    """Refuse ``fields`` unless ``name`` (``default`` when absent) has the one value tinygpt computes."""
    if fields.get(name, default) != supported:
        reason = f": {why}" if why else ""
        raise ConfigError(
            f"{source}: {_stated(fields, name, default)} is not supported by tinygpt (only {json.dumps(supported)}{reason})"
        )


def activation_from_hf(fields: dict[str, Any], name: str, *, default: str, source: str) -> str:
    """Our activation for the transformers name in ``fields[name]``."""
    activation = fields.get(name, default)
    if activation not in ACTIVATION_FROM_HF:
        raise ConfigError(
            f"{source}: {name} {activation!r} is not supported (supported: {', '.join(sorted(ACTIVATION_FROM_HF))})"
        )
    return ACTIVATION_FROM_HF[activation]


def feed_forward_shape(width: int, hidden: int) -> tuple[int, int | None]:
    """GPTConfig's ``feed_forward_multiplier`` and ``feed_forward_size`` for a hidden width."""
    return (hidden // width, None) if hidden % width == 0 else (4, hidden)


@contextmanager
def usable_numbers(source: str) -> Iterator[None]:
    """A size or rate that is not a number (or a GPTConfig that refuses it) as one ConfigError."""
    try:
        yield
    except (TypeError, ValueError, ZeroDivisionError) as error:
        raise ConfigError(f"{source}: unusable size or rate ({error})") from error
