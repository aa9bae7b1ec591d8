"""Held-out loss: per token (nats) and in bits per byte of text, so runs with different
tokenizers compare; used at the end of training and by `tinygpt eval`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from tinygpt.data.loader import TokenLoader
from tinygpt.data.manifest import check_shards_match_tokenizer
from tinygpt.data.sources import open_corpus
from tinygpt.errors import DataError
from tinygpt.precision import autocast
from tinygpt.run.load import load_run
from tinygpt.tokenizer.bpe import BPETokenizer
from tinygpt.tokenizer.unknown import UnknownText

IGNORE_INDEX = -1


@dataclass(frozen=True)
class HeldOutLoss:
    """Mean loss per predicted token and, when the text size is known, bits per byte.

    ``text_bytes`` counts the bytes actually scored: with ``unknown`` characters skipped or
    replaced, the text as encoded, not as read.
    """

    loss: float
    tokens: int
    text_bytes: int | None
    unknown: UnknownText | None = None

    @property
    def bits_per_byte(self) -> float | None:
        if not self.text_bytes:
            return None
        return self.tokens * self.loss / math.log(2) / self.text_bytes

    def to_dict(self) -> dict[str, float | int | str | None]:
        found: dict[str, float | int | str | None] = {
            "loss": self.loss,
            "tokens": self.tokens,
            "text_bytes": self.text_bytes,
            "bits_per_byte": self.bits_per_byte,
        }
        return found if self.unknown is None else {**found, **self.unknown.to_dict()}


def token_losses(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, dtype: torch.dtype | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of next-token losses (nats, float32) and the number of targets; targets equal to
    IGNORE_INDEX (padding) are skipped."""
    with autocast(x.device, dtype):
        logits = model(x)
    total = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=IGNORE_INDEX, reduction="sum")
    return total, (y != IGNORE_INDEX).sum()


@torch.no_grad()
def mean_batch_loss(
    model: nn.Module,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    iterations: int,
    device: torch.device,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Mean over ``iterations`` batches of the mean token loss: gpt-rs's periodic estimate.
    Returns a device tensor so callers decide when to synchronise."""
    was_training = model.training
    model.eval()
    try:
        total = torch.zeros((), device=device)
        for _ in range(iterations):
            x, y = next(batches)
            loss, count = token_losses(model, x.to(device, non_blocking=True), y.to(device, non_blocking=True), dtype)
            total += loss / count
    finally:
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
    try:
        sums = torch.zeros(2, dtype=torch.float64, device=device)
        for x, y in windows:
            loss, count = token_losses(model, x.to(device), y.to(device), dtype)
            sums[0] += loss.double()
            sums[1] += count
    finally:
        model.train(was_training)
    total_loss, tokens = all_reduce_sum(sums).tolist()
    if tokens == 0:
        return HeldOutLoss(loss=float("nan"), tokens=0, text_bytes=text_bytes)
    return HeldOutLoss(loss=total_loss / tokens, tokens=int(tokens), text_bytes=text_bytes)


def document_windows(
    documents: Iterable[Sequence[int]], context_length: int, batch_size: int, stride: int | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of windows that sweep each document on its own (as the loader's document-mode
    ``iter_eval`` does): every token after a document's first is a target exactly once, with
    context from its own document only; short windows are padded with IGNORE_INDEX targets.

    A ``stride`` below ``context_length`` overlaps the windows: each ends ``stride`` targets
    after the one before and scores only targets no earlier window scored (the others are
    IGNORE_INDEX), so every target has ``context_length - stride`` tokens of its document
    before it, or all of them: the usual strided scoring of a fixed-context model."""
    stride = context_length if stride is None else stride
    if not 1 <= stride <= context_length:
        raise ValueError(f"stride must be between 1 and the context length {context_length}, got {stride}")
    rows: list[tuple[Sequence[int], Sequence[int], int]] = []
    for tokens in documents:
        for start, first_new in _window_starts(len(tokens) - 1, context_length, stride):
            piece = tokens[start : start + context_length + 1]
            rows.append((piece[:-1], piece[1:], first_new - start))
            if len(rows) == batch_size:
                yield _pad(rows, context_length)
                rows = []
    if rows:
        yield _pad(rows, context_length)


def _window_starts(targets: int, context_length: int, stride: int) -> Iterator[tuple[int, int]]:
    """(first position, first target no earlier window scored) of each window over a document
    with ``targets`` targets."""
    start = scored = 0
    while scored < targets:
        yield start, scored
        scored = min(start + context_length, targets)
        start = scored + stride - context_length


def _pad(
    rows: list[tuple[Sequence[int], Sequence[int], int]], context_length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.zeros(len(rows), context_length, dtype=torch.int64)
    y = torch.full((len(rows), context_length), IGNORE_INDEX, dtype=torch.int64)
    for row, (inputs, targets, scored_from) in enumerate(rows):
        x[row, : len(inputs)] = torch.as_tensor(inputs, dtype=torch.int64)
        y[row, scored_from : len(targets)] = torch.as_tensor(targets[scored_from:], dtype=torch.int64)
    return x, y


def evaluate_run(
    run: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    checkpoint: str = "best",
    device: str = "auto",
    batch_size: int = 32,
    text_column: str | None = None,
    sampling: str = "document",
    on_unknown: str = "error",
    format: str | None = None,
) -> HeldOutLoss:
    """Held-out loss of a trained run on ``data``: a `tinygpt tokenize` directory (its held-out
    split) or any corpus `tinygpt.data.sources.open_corpus` reads (all of it, tokenized here and
    streamed, each document swept on its own as in the shards' held-out pass). ``sampling`` is
    the loader's rule for the shards' sweep: the one the run was trained with.

    A corpus is encoded as ``tinygpt tokenize`` encodes it (special tokens in the text are
    text). ``on_unknown`` (a closed words-mode alphabet) is ``"error"``, ``"skip"`` or a
    replacement character; the result counts the unknown characters and their bytes, and
    its bits per byte are over the bytes scored."""
    model, tokenizer = load_run(run, checkpoint, device=device)
    target = next(model.parameters()).device
    context = model.config.context_length
    if Path(data).is_dir() and any(Path(data).glob("manifest*.json")):
        loader = TokenLoader(data, batch_size, context, split="val", sampling=sampling)
        check_shards_match_tokenizer(loader.manifest, tokenizer, data)
        return held_out_loss(model, loader.iter_eval(), target, text_bytes=loader.manifest.split("val").text_bytes)
    text_bytes = 0
    # Each document between two end-of-text tokens, so its end is predicted as in training.
    boundary = [] if tokenizer.eot_id is None else [tokenizer.eot_id]
    unknown = UnknownText.for_tokenizer(tokenizer, on_unknown)

    def encoded() -> Iterator[list[int]]:
        nonlocal text_bytes
        first = 0
        for documents in open_corpus(data, text_column=text_column, format=format).iter_batches(256):
            text_bytes += sum(len(document.encode("utf-8")) for document in documents)
            unknown.add(documents)
            try:
                batch = tokenizer.encode_batch(documents, on_unknown=on_unknown)
            except DataError:
                raise _first_failure(tokenizer, documents, first, data, on_unknown) from None
            first += len(documents)
            for tokens in batch:
                yield boundary + tokens + boundary

    result = held_out_loss(model, document_windows(encoded(), context, batch_size), target, text_bytes=None)
    return HeldOutLoss(
        loss=result.loss, tokens=result.tokens, text_bytes=unknown.scored_bytes(text_bytes), unknown=unknown
    )


def _first_failure(
    tokenizer: BPETokenizer, documents: list[str], first: int, data: str | os.PathLike[str], on_unknown: str
) -> DataError:
    """The error of the first document that fails, naming the corpus and the document."""
    for number, document in enumerate(documents, start=first + 1):
        try:
            tokenizer.encode(document, on_unknown=on_unknown)
        except DataError as error:
            return DataError(f"{data}: document {number}: {error}")
    return DataError(f"{data}: documents {first + 1}-{first + len(documents)} could not be encoded")
