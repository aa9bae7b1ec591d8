"""tinygpt: BPE tokenizers and small GPT story models with a compiled core.

The public names are imported lazily so that ``import tinygpt`` stays cheap for
tokenizer-only users (no torch import until a model is touched).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BPETokenizer", "GPTConfig", "GPT", "load_run"]

_LAZY = {
    "BPETokenizer": "tinygpt.tokenizer",
    "GPTConfig": "tinygpt.model",
    "GPT": "tinygpt.model",
    "load_run": "tinygpt.run",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tinygpt' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
