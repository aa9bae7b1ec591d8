"""The ``README.md`` model card of an exported run: what it was trained on, how long, how well."""

from __future__ import annotations

from dataclasses import dataclass

from tinygpt.hf.architectures import architecture_of
from tinygpt.model.gpt import GPT
from tinygpt.tokenizer import BPETokenizer


@dataclass(frozen=True)
class RunSummary:
    """The figures a card reports (None where the run recorded none).

    ``held_out_loss`` and ``bits_per_byte`` are of the exported weights only: a run's exact
    held-out pass scores the weights of the step it ran at (``held_out_pass_step``, None if the
    run has none), and the periodic evaluations that pick the best checkpoint estimate the loss
    alone.
    """

    data: str
    step: int | None
    tokens_seen: int | None
    held_out_loss: float | None
    bits_per_byte: float | None
    held_out_pass_step: int | None = None


def _figure(value: float | None, spec: str) -> str:
    return "not recorded" if value is None else format(value, spec)


def _bits_per_byte(summary: RunSummary) -> str:
    """The figure, else why there is none for these weights."""
    if summary.bits_per_byte is not None:
        return format(summary.bits_per_byte, ".4f")
    if summary.held_out_pass_step is None:
        return "not recorded (the run made no exact held-out pass; `tinygpt eval` measures one)"
    if summary.held_out_pass_step == summary.step:
        return "not recorded (the run's shards do not record their text's size)"
    return (
        f"not measured for these weights: the run's exact held-out pass scored step "
        f"{summary.held_out_pass_step:,} (export `--checkpoint step_{summary.held_out_pass_step}` for its figures)"
    )


def model_card(summary: RunSummary, model: GPT, tokenizer: BPETokenizer) -> str:
    """Markdown for the Hugging Face model page (front matter, then the facts of the run)."""
    config = model.config
    architecture = architecture_of(config)
    tokenizer_text = (
        f"byte-level BPE, {tokenizer.pattern} pre-tokenisation pattern"
        if tokenizer.mode == "bytes"
        else "gpt-rs's words BPE (characters; merges never cross a word; `\"` and newline never merge)"
        + (", byte fallback" if tokenizer.byte_fallback else "")
    )
    return f"""---
library_name: transformers
pipeline_tag: text-generation
tags: [tinygpt, {architecture.model_type}]
---

# tinygpt story model

A small {architecture.name}-architecture model ({config.positions} positions) trained with tinygpt and
exported with `tinygpt export`; transformers loads it with no custom code.

| | |
|---|---|
| training data | {summary.data} |
| optimizer steps | {_figure(summary.step, ",")} |
| tokens seen | {_figure(summary.tokens_seen, ",")} |
| held-out loss | {_figure(summary.held_out_loss, ".4f")} nats per token |
| held-out bits per byte | {_bits_per_byte(summary)} |
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
