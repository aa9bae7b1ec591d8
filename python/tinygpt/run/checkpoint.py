"""Checkpoints: written atomically, the last K and the best kept, listed in index.json.

A checkpoint is a directory (model.safetensors, trainer_state.pt, meta.json) written under a
temporary name and renamed into place, so a crash never leaves a half-written checkpoint that
looks valid; index.json is rewritten atomically afterwards and only then are old ones pruned.
meta.json records the SHA-256 of the other two files, checked whenever they are read, so a
truncated or damaged file is reported as such instead of loading as wrong weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import safetensors
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
    best: bool = False,
) -> CheckpointIndex:
    """Write the checkpoint of ``step`` and update the index; ``meta["val_loss"]`` (if any)
    decides whether it becomes the best, unless ``best`` makes it the best outright (the end
    of a schedule whose decay finishes there). Returns the updated index."""
    name = checkpoint_name(step)
    final = layout.checkpoints / name
    index = CheckpointIndex.read(layout)
    if not final.exists():
        layout.checkpoints.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=layout.checkpoints))
        try:
            safetensors.torch.save_model(model, str(staging / MODEL_FILE))
            torch.save(trainer_state, staging / TRAINER_STATE_FILE)
            digests = {file: _sha256(staging / file) for file in (MODEL_FILE, TRAINER_STATE_FILE)}
            (staging / CHECKPOINT_META_FILE).write_text(json.dumps({**meta, "sha256": digests}, indent=2) + "\n")
            staging.replace(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    index.last = name
    if best or index.best is None or _is_better(meta, _read_meta(layout.checkpoints / index.best)):
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
    verify_checkpoint_file(directory, TRAINER_STATE_FILE)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise RunError(
            f"{path}: not a readable trainer state ({_first_line(error)}); "
            "resume from another checkpoint, or start again"
        ) from None
    if not isinstance(state, dict) or not {"step", "tokens_seen", "optimizer", "ranks"} <= set(state):
        raise RunError(f"{path}: not a tinygpt trainer state (keys step, tokens_seen, optimizer, ranks)")
    return state


def load_weights(model: nn.Module, directory: Path) -> None:
    """The checkpoint's weights into ``model``; RunError naming the file when it is damaged
    or does not fit the configured model."""
    path = directory / MODEL_FILE
    verify_checkpoint_file(directory, MODEL_FILE)
    try:
        safetensors.torch.load_model(model, str(path), strict=True)
    except (RuntimeError, OSError, safetensors.SafetensorError) as error:
        raise RunError(f"{path}: cannot load into the configured model ({_first_line(error)})") from None
    with torch.no_grad():
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            raise RunError(
                f"{path}: holds NaN or infinite weights (saved by a training that "
                "diverged); use an earlier checkpoint with --checkpoint"
            )


def verify_checkpoint_file(directory: Path, file: str) -> None:
    """Compare ``file``'s SHA-256 with the one meta.json recorded when it was written.

    Checkpoints without meta.json (copied from elsewhere) or written before digests were
    recorded are not checked; a meta.json that is not readable JSON is an error, since the
    checkpoint directory can then no longer be trusted.
    """
    meta_path = directory / CHECKPOINT_META_FILE
    if not meta_path.exists():
        return
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RunError(
            f"{meta_path}: not readable JSON ({_first_line(error)}); the checkpoint cannot be verified, use another one"
        ) from None
    digests = meta.get("sha256") if isinstance(meta, dict) else None
    if not isinstance(digests, dict) or file not in digests:
        return
    if _sha256(directory / file) != digests[file]:
        raise RunError(
            f"{directory / file}: damaged or truncated (its SHA-256 differs from the one "
            f"recorded in {CHECKPOINT_META_FILE} when it was written); use another "
            "checkpoint with --checkpoint"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        raise RunError(f"{path}: cannot read ({error.strerror or error})") from None
    return digest.hexdigest()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


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
