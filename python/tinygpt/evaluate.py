"""Held-out loss: per token (nats) and in bits per byte of text, so runs with different
tokenizers compare; used at the end of training and by `tinygpt eval`."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tinygpt.train.precision import autocast

IGNORE_INDEX = -1


@dataclass(frozen=True)
class HeldOutLoss:
    """Mean loss per predicted token and, when the text size is known, bits per byte."""

    loss: float
    tokens: int
    text_bytes: int | None

    @property
    def bits_per_byte(self) -> float | None:
        if not self.text_bytes:
            return None
        return self.tokens * self.loss / math.log(2) / self.text_bytes

    def to_dict(self) -> dict[str, float | int | None]:
        return {**asdict(self), "bits_per_byte": self.bits_per_byte}


def token_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of next-token losses (nats, float32) and the number of targets; targets equal to
    IGNORE_INDEX (padding) are skipped."""
    with autocast(x.device, dtype):
        logits = model(x)
    total = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=IGNORE_INDEX,
                            reduction="sum")
    return total, (y != IGNORE_INDEX).sum()


@torch.no_grad()
def mean_batch_loss(model: nn.Module, batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
                    iterations: int, device: torch.device,
                    dtype: torch.dtype | None = None) -> torch.Tensor:
    """Mean over ``iterations`` batches of the mean token loss: gpt-rs's periodic estimate.
    Returns a device tensor so callers decide when to synchronise."""
    was_training = model.training
    model.eval()
    total = torch.zeros((), device=device)
    for _ in range(iterations):
        x, y = next(batches)
        loss, count = token_losses(model, x.to(device, non_blocking=True),
                                   y.to(device, non_blocking=True), dtype)
        total += loss / count
    model.train(was_training)
    return total / iterations


@torch.no_grad()
def held_out_loss(
    model: nn.Module,
    windows: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
    *,
    text_bytes: int | None,
    dtype: torch.dtype | None = None,
    all_reduce_sum: Callable[[torch.Tensor], torch.Tensor] = lambda t: t,
) -> HeldOutLoss:
    """Exact loss over every window of ``windows`` (under torchrun, this rank's share of them;
    ``all_reduce_sum`` adds the ranks' totals)."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(2, dtype=torch.float64, device=device)
    for x, y in windows:
        loss, count = token_losses(model, x.to(device), y.to(device), dtype)
        sums[0] += loss.double()
        sums[1] += count
    model.train(was_training)
    total_loss, tokens = all_reduce_sum(sums).tolist()
    if tokens == 0:
        return HeldOutLoss(loss=float("nan"), tokens=0, text_bytes=text_bytes)
    return HeldOutLoss(loss=total_loss / tokens, tokens=int(tokens), text_bytes=text_bytes)


def sequential_windows(tokens: np.ndarray, context_length: int,
                       batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of consecutive windows predicting every token after the first exactly once;
    the last window is padded with IGNORE_INDEX targets."""
    stream = torch.from_numpy(tokens.astype(np.int64))
    predicted = len(stream) - 1
    window_count = math.ceil(predicted / context_length)
    for first in range(0, window_count, batch_size):
        rows = range(first, min(first + batch_size, window_count))
        x = torch.zeros(len(rows), context_length, dtype=torch.int64)
        y = torch.full((len(rows), context_length), IGNORE_INDEX, dtype=torch.int64)
        for row, window in enumerate(rows):
            start = window * context_length
            stop = min(start + context_length, predicted)
            x[row, : stop - start] = stream[start:stop]
            y[row, : stop - start] = stream[start + 1 : stop + 1]
        yield x, y


def evaluate_run(
    run: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    checkpoint: str = "best",
    device: str = "auto",
    batch_size: int = 32,
    text_column: str | None = None,
) -> HeldOutLoss:
    """Held-out loss of a trained run on ``data``: a `tinygpt tokenize` directory (its held-out
    split) or any corpus `tinygpt.sources.open_corpus` reads (all of it, tokenized here)."""
    from tinygpt.run import load_run

    model, tokenizer = load_run(run, checkpoint, device=device)
    target = next(model.parameters()).device
    context = model.config.context_length
    if (os.path.isdir(data) and os.path.isfile(os.path.join(data, "manifest.json"))):
        from tinygpt.data import TokenLoader
        from tinygpt.train.compatibility import check_shards_match_tokenizer

        loader = TokenLoader(data, batch_size, context, split="val")
        check_shards_match_tokenizer(loader.manifest, tokenizer, data)
        return held_out_loss(model, loader.iter_eval(), target,
                             text_bytes=loader.manifest.split("val").text_bytes)
    from tinygpt.sources import open_corpus

    documents = list(open_corpus(data, text_column=text_column))
    tokens = tokenizer.encode_to_array(documents, prepend=tokenizer.eot_id, dtype=np.int64)
    text_bytes = sum(len(document.encode("utf-8")) for document in documents)
    return held_out_loss(model, sequential_windows(tokens, context, batch_size), target,
                         text_bytes=text_bytes)
