"""``tinygpt export RUN --out DIR``: a run's checkpoint as a transformers GPT-2 or GPT-NeoX
(rotary models) directory, with a model card whose figures come from the run's own records."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinygpt.data.manifest import read_manifest
from tinygpt.errors import TinyGPTError
from tinygpt.hf.export import check_export_target, export_model
from tinygpt.hf.model_card import RunSummary, model_card
from tinygpt.run.layout import (
    CHECKPOINT_META_FILE,
    RunLayout,
    read_run_info,
    resolve_checkpoint,
)
from tinygpt.run.load import load_run


@dataclass(frozen=True)
class Exported:
    directory: Path
    checkpoint: Path
    files: list[str]


def export_run(run: str | os.PathLike[str], out: str | os.PathLike[str], *, checkpoint: str = "best") -> Exported:
    """Write ``out`` from ``run``'s ``checkpoint``; ``out`` must not exist or be an empty directory."""
    target = Path(out)
    check_export_target(target)
    directory = resolve_checkpoint(run, checkpoint)
    model, tokenizer = load_run(run, checkpoint, device="cpu")
    card = model_card(run_summary(RunLayout.of(run), directory), model, tokenizer)
    return Exported(target, directory, export_model(model, tokenizer, target, card=card))


def run_summary(layout: RunLayout, checkpoint: Path) -> RunSummary:
    """Data, steps and held-out figures of ``checkpoint``, from meta.json, run.json and metrics.jsonl."""
    meta = _read_json(checkpoint / CHECKPOINT_META_FILE)
    step = meta.get("step")
    passes = _held_out_records(layout.metrics)
    held_out: dict[str, Any] = next((record for record in reversed(passes) if record.get("step") == step), {})
    return RunSummary(
        data=_data_description(str(read_run_info(layout.root).get("data", ""))),
        step=step,
        tokens_seen=meta.get("tokens_seen"),
        held_out_loss=held_out.get("loss", meta.get("val_loss")),
        bits_per_byte=held_out.get("bits_per_byte"),
        held_out_pass_step=held_out.get("step", passes[-1].get("step") if passes else None),
    )


def _data_description(shards: str) -> str:
    """The corpus files and training split of the run's shards, when they are still there."""
    try:
        manifest = read_manifest(shards)
    except (TinyGPTError, OSError):
        return Path(shards).name or "not recorded"
    files = [Path(str(name)).name for name in manifest.job.get("files") or []]
    named = ", ".join(files[:3]) + (f" and {len(files) - 3} more files" if len(files) > 3 else "")
    train = manifest.splits.get("train")
    size = "" if train is None else f" ({train.documents:,} training documents, {train.tokens:,} tokens)"
    return f"{named or Path(shards).name}{size}"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _held_out_records(metrics: Path) -> list[dict[str, Any]]:
    """The run's exact held-out passes (the final pass of each training session), in order."""
    try:
        lines = metrics.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("kind") == "held_out":
            records.append(record)
    return records
