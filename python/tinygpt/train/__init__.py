"""Training: `tinygpt train`'s loop, its optimizer, schedules, checkpoints and devices.

``train`` starts a run, ``resume`` continues one; both return a ``TrainSummary``. The names are
imported lazily so that ``tinygpt.train.device`` stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TrainConfig", "TrainSummary", "resume", "train"]

_LAZY = {
    "TrainConfig": "tinygpt.train.config",
    "TrainSummary": "tinygpt.train.loop",
    "train": "tinygpt.train.session",
    "resume": "tinygpt.train.session",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tinygpt.train' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
