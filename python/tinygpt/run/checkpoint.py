"""Checkpoints: written atomically, the last K and the best kept, listed in index.json.

A checkpoint is a directory (model.safetensors, trainer_state.pt, meta.json) written under a
temporary name and renamed into place, so a crash never leaves a half-written checkpoint that
looks valid; index.json is rewritten atomically afterwards and only then are old ones pruned.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from tinygpt.run.layout import (
    CHECKPOINT_META_FILE,
    MODEL_FILE,
    TRAINER_STATE_FILE,
    CheckpointIndex,
    RunError,
    RunLayout,
    checkpoint_name,
)


def save_checkpoint(
    layout: RunLayout,
    step: int,
    model: nn.Module,
    trainer_state: dict[str, Any],
    meta: dict[str, Any],
    *,
    keep_last: int,
) -> CheckpointIndex:
    """Write the checkpoint of ``step`` and update the index; ``meta["val_loss"]`` (if any)
    decides whether it becomes the best. Returns the updated index."""
    name = checkpoint_name(step)
    final = layout.checkpoints / name
    index = CheckpointIndex.read(layout)
    if not final.exists():
        layout.checkpoints.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=layout.checkpoints))
        try:
            safetensors.torch.save_model(model, str(staging / MODEL_FILE))
            torch.save(trainer_state, staging / TRAINER_STATE_FILE)
            (staging / CHECKPOINT_META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
            staging.replace(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    index.last = name
    if index.best is None or _is_better(meta, _read_meta(layout.checkpoints / index.best)):
        index.best = name
    ordered = sorted(set(index.kept) | {name})
    recent = ordered[-keep_last:]
    index.kept = sorted(set(recent) | {index.best})
    index.write(layout)
    for stale in sorted(set(ordered) - set(index.kept)):
        shutil.rmtree(layout.checkpoints / stale, ignore_errors=True)
    return index


def load_trainer_state(directory: Path) -> dict[str, Any]:
    """The optimizer, RNG and loader state saved beside a checkpoint's weights."""
    path = directory / TRAINER_STATE_FILE
    if not path.is_file():
        raise RunError(f"{directory} has no {TRAINER_STATE_FILE}; it cannot be resumed")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_weights(model: nn.Module, directory: Path) -> None:
    path = directory / MODEL_FILE
    try:
        safetensors.torch.load_model(model, str(path), strict=True)
    except (RuntimeError, OSError) as error:
        raise RunError(f"{path}: cannot load into the configured model ({error})") from error


def _read_meta(directory: Path) -> dict[str, Any]:
    try:
        return json.loads((directory / CHECKPOINT_META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _is_better(candidate: dict[str, Any], incumbent: dict[str, Any]) -> bool:
    """Lower held-out loss wins; a checkpoint without one never displaces one that has it."""
    new, old = candidate.get("val_loss"), incumbent.get("val_loss")
    if new is None or not math.isfinite(new):
        return old is None
    return old is None or new < old
