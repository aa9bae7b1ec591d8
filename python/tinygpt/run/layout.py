"""Run directories: the layout `tinygpt train` writes and `load_run` reads back.

A run directory alone is enough to generate: it holds the tokenizer, both configs and the
checkpoints, so nothing outside it (the shards, the command line) is needed later::

    RUN/tokenizer.ron  RUN/transformer_config.ron  RUN/train_config.ron
    RUN/run.json       RUN/metrics.jsonl
    RUN/checkpoints/index.json  = {"last": "step_...", "best": "step_...", "kept": [...]}
    RUN/checkpoints/step_00001000/{model.safetensors, trainer_state.pt, meta.json}
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinygpt.atomic import atomic_write_text
from tinygpt.errors import TinyGPTError

MODEL_FILE = "model.safetensors"
TRAINER_STATE_FILE = "trainer_state.pt"
CHECKPOINT_META_FILE = "meta.json"


class RunError(TinyGPTError):
    """A run directory or one of its checkpoints is missing or malformed."""


def checkpoint_name(step: int) -> str:
    """Directory name of the checkpoint taken after ``step`` optimizer steps (sorts by step)."""
    return f"step_{step:08d}"


@dataclass(frozen=True)
class RunLayout:
    """Where each file of a run directory lives; the one place that spells the names."""

    root: Path

    @classmethod
    def of(cls, run: str | os.PathLike[str]) -> RunLayout:
        return cls(Path(run))

    @property
    def tokenizer(self) -> Path:
        return self.root / "tokenizer.ron"

    @property
    def transformer_config(self) -> Path:
        return self.root / "transformer_config.ron"

    @property
    def train_config(self) -> Path:
        return self.root / "train_config.ron"

    @property
    def info(self) -> Path:
        return self.root / "run.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def index(self) -> Path:
        return self.checkpoints / "index.json"

    def checkpoint(self, step: int) -> Path:
        return self.checkpoints / checkpoint_name(step)


@dataclass
class CheckpointIndex:
    """``checkpoints/index.json``: which checkpoint is the latest, which the best, which exist."""

    last: str | None = None
    best: str | None = None
    kept: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, layout: RunLayout) -> CheckpointIndex:
        """The run's index; an empty one when no checkpoint has been written yet."""
        if not layout.index.is_file():
            return cls()
        try:
            data = json.loads(layout.index.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise RunError(f"{layout.index}: malformed checkpoint index ({error})") from None
        names = (
            [data.get("last"), data.get("best"), *data.get("kept", [None])]
            if isinstance(data, dict) and isinstance(data.get("kept"), list)
            else None
        )
        if (
            names is None
            or not all(name is None or _is_checkpoint_name(name) for name in names)
            or None in data["kept"]
        ):
            raise RunError(
                f'{layout.index}: malformed checkpoint index (expected "last", '
                '"best" and "kept" holding step_NNNNNNNN names)'
            )
        return cls(last=data["last"], best=data["best"], kept=list(data["kept"]))

    def write(self, layout: RunLayout) -> None:
        payload = {"last": self.last, "best": self.best, "kept": self.kept}
        atomic_write_text(layout.index, json.dumps(payload, indent=2) + "\n")


def _is_checkpoint_name(name: object) -> bool:
    return isinstance(name, str) and re.fullmatch(r"step_\d{8,}", name) is not None


def read_run_info(run: str | os.PathLike[str]) -> dict[str, Any]:
    """``run.json``: data directory, tokenizer fingerprint, creation time, tinygpt version."""
    layout = RunLayout.of(run)
    require_run(layout)
    try:
        return json.loads(layout.info.read_text(encoding="utf-8"))
    except ValueError as error:
        raise RunError(f"{layout.info}: not valid JSON ({error})") from error


def require_run(layout: RunLayout) -> None:
    """Fail with a clear message unless ``layout.root`` looks like a tinygpt run directory."""
    if not layout.root.is_dir():
        raise RunError(f"run directory {layout.root} does not exist")
    missing = [p.name for p in (layout.info, layout.tokenizer, layout.transformer_config) if not p.is_file()]
    if missing:
        raise RunError(
            f"{layout.root} is not a tinygpt run directory (missing {', '.join(missing)}); "
            "pass the --out directory of `tinygpt train`"
        )


def _step_directory_name(checkpoint: str) -> str:
    """ "step_1000" -> "step_00001000", so a step can be named as the user thinks of it."""
    prefix, _, digits = checkpoint.partition("_")
    if prefix == "step" and digits.isdigit() and len(digits) <= 8:
        return checkpoint_name(int(digits))
    return checkpoint


def resolve_checkpoint(run: str | os.PathLike[str], checkpoint: str = "best") -> Path:
    """The checkpoint directory named by ``checkpoint``.

    ``checkpoint`` is "best", "last", a step such as "step_1000" or its directory name
    "step_00001000", or a path to a checkpoint directory or its ``model.safetensors``.
    """
    layout = RunLayout.of(run)
    as_path = Path(checkpoint)
    if as_path.name == MODEL_FILE and as_path.is_file():
        return as_path.parent
    if (as_path / MODEL_FILE).is_file():
        return as_path
    require_run(layout)
    index = CheckpointIndex.read(layout)
    if checkpoint in ("best", "last"):
        name = index.best if checkpoint == "best" else index.last
        if name is None:
            raise RunError(f"{layout.root} has no checkpoint yet (no {layout.index})")
    else:
        name = _step_directory_name(checkpoint)
    directory = layout.checkpoints / name
    if not (directory / MODEL_FILE).is_file():
        present = [kept for kept in index.kept if (layout.checkpoints / kept / MODEL_FILE).is_file()]
        aliases = [alias for alias, target in (("best", index.best), ("last", index.last)) if target in present]
        available = ", ".join(aliases + present) or "none"
        named = f"{checkpoint} ({name})" if checkpoint in ("best", "last") else checkpoint
        raise RunError(f"checkpoint {named!r} not found in {layout.checkpoints} (available: {available})")
    return directory
