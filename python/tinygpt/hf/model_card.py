"""The ``README.md`` model card of an exported run: what it was trained on, how long, how well."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinygpt.model.gpt import GPT
from tinygpt.run.layout import CHECKPOINT_META_FILE, RunLayout, read_run_info
from tinygpt.tokenizer import BPETokenizer


@dataclass(frozen=True)
class RunSummary:
    """The figures a card reports, read from the run's files (None where the run has none)."""

    data: str
    step: int | None
    tokens_seen: int | None
    held_out_loss: float | None
    bits_per_byte: float | None

    @classmethod
    def read(cls, layout: RunLayout, checkpoint: Path) -> RunSummary:
        meta = _read_json(checkpoint / CHECKPOINT_META_FILE)
        step = meta.get("step")
        held_out = _held_out_record(layout.metrics, step)
        data = str(read_run_info(layout.root).get("data", "unknown"))
        return cls(
            data=Path(data).name or data,
            step=step,
            tokens_seen=meta.get("tokens_seen"),
            held_out_loss=held_out.get("loss", meta.get("val_loss")),
            bits_per_byte=held_out.get("bits_per_byte"),
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _held_out_record(metrics: Path, step: int | None) -> dict[str, Any]:
    """The held-out evaluation at ``step`` (the latest one before it when none is exactly there)."""
    best: dict[str, Any] = {}
    try:
        lines = metrics.read_text(encoding="utf-8").splitlines()
    except OSError:
        return best
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if (isinstance(record, dict) and record.get("kind") == "held_out"
                and (step is None or record.get("step", 0) <= step)):
            best = record
    return best


def _figure(value: float | None, spec: str) -> str:
    return "not recorded" if value is None else format(value, spec)


def model_card(summary: RunSummary, model: GPT, tokenizer: BPETokenizer) -> str:
    """Markdown for the Hugging Face model page (front matter, then the facts of the run)."""
    config = model.config
    tokenizer_text = (
        f"byte-level BPE, {tokenizer.pattern} pre-tokenisation pattern" if tokenizer.mode == "bytes"
        else "gpt-rs's words BPE (characters; merges never cross a word; `\"` and newline never merge)"
        + (", byte fallback" if tokenizer.byte_fallback else "")
    )
    return f"""---
library_name: transformers
pipeline_tag: text-generation
tags: [tinygpt, gpt2]
---

# tinygpt story model

A small GPT-2-architecture model trained with tinygpt and
exported with `tinygpt export`; transformers loads it with no custom code.

| | |
|---|---|
| training data | {summary.data} |
| optimizer steps | {_figure(summary.step, ",")} |
| tokens seen | {_figure(summary.tokens_seen, ",")} |
| held-out loss | {_figure(summary.held_out_loss, ".4f")} nats per token |
| held-out bits per byte | {_figure(summary.bits_per_byte, ".4f")} |
| parameters | {model.num_parameters():,} |
| shape | {config.block_count} layers, {config.head_count} heads, {config.embedding_size} wide, context {config.context_length}, {config.activation} |
| tokenizer | {tokenizer_text}, {tokenizer.vocab_size:,} tokens |

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("PATH_OR_REPO")
tokenizer = AutoTokenizer.from_pretrained("PATH_OR_REPO")
ids = tokenizer("Once upon a time", return_tensors="pt").input_ids
print(tokenizer.decode(model.generate(ids, max_new_tokens=60)[0]))
```
"""
