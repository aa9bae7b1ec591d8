"""Held-out bits per byte with overlapping windows: a check on compare_recipes' one evaluator.

That evaluator sweeps each held-out story in windows of the model's own context, so a model
with 64 positions starts from nothing every 64 tokens, while one with 256 sees most stories
whole. Here windows advance by ``stride`` tokens and score only the targets no earlier window
scored, so every target but a story's first ``context`` has ``context - stride`` tokens or more
of its story before it: the usual strided scoring of a fixed-context model. The targets and
bytes are the same as the evaluator's (stride = context reproduces it exactly), so the two
numbers show how much of a margin comes from the restarts and how much from the longer window.

    python benches/sliding_score.py --shards SHARDS --stride 16 RUN_OR_NANOGPT_DIR ...
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from tinygpt.data import read_manifest
from tinygpt.data.shards import HEADER_BYTES, token_dtype
from tinygpt.evaluate import IGNORE_INDEX, token_losses

BATCH_ROWS = 32


def held_out_documents(shards: Path) -> list[np.ndarray]:
    """Each held-out document as the loader's document sweep reads it: the end-of-text token
    before it, its text, and the end-of-text token that closes it (implied after the last)."""
    manifest = read_manifest(shards)
    eot = manifest.eot_id
    pieces = [
        np.fromfile(shards / shard.file, dtype=token_dtype(manifest.vocab_size), offset=HEADER_BYTES)
        for shard in manifest.split("val").shards
    ]
    tokens = np.concatenate([*pieces, [eot]]).astype(np.int64)
    starts = np.flatnonzero(tokens == eot)
    return [tokens[begin : end + 1] for begin, end in zip(starts[:-1], starts[1:], strict=True)]


def strided_rows(document: np.ndarray, context: int, stride: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(inputs, targets) windows over one document; targets an earlier window scored are
    IGNORE_INDEX."""
    targets = len(document) - 1
    scored = 0
    start = 0
    while scored < targets:
        end = min(start + context, targets)
        y = document[start + 1 : end + 1].copy()
        y[: scored - start] = IGNORE_INDEX
        yield document[start:end], y
        scored = end
        start = max(0, end + stride - context) if end < targets else end


def strided_bits_per_byte(model: torch.nn.Module, context: int, shards: Path, stride: int) -> float:
    """Bits per byte of the held-out text, every target scored once with windows ``stride`` apart."""
    rows = [row for document in held_out_documents(shards) for row in strided_rows(document, context, stride)]
    total = 0.0
    model = model.float().eval()
    with torch.no_grad():
        for first in range(0, len(rows), BATCH_ROWS):
            batch = rows[first : first + BATCH_ROWS]
            x = torch.zeros(len(batch), context, dtype=torch.int64)
            y = torch.full((len(batch), context), IGNORE_INDEX, dtype=torch.int64)
            for row, (inputs, targets) in enumerate(batch):
                x[row, : len(inputs)] = torch.from_numpy(inputs)
                y[row, : len(targets)] = torch.from_numpy(targets)
            total += float(token_losses(model, x, y)[0])
    return total / math.log(2) / read_manifest(shards).split("val").text_bytes


def main() -> int:
    from compare_recipes import load_contender

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=Path, required=True)
    parser.add_argument("--stride", type=int, default=16)
    parser.add_argument("runs", nargs="+", type=Path, help="compare_recipes contender directories")
    args = parser.parse_args()
    print(f"| contender | context | windows of the context | stride {args.stride} |")
    print("|---|---|---|---|")
    for run in args.runs:
        name = "nanogpt" if (run / "steps.json").exists() else run.name
        model, context = load_contender(name, run)
        whole = strided_bits_per_byte(model, context, args.shards, context)
        strided = strided_bits_per_byte(model, context, args.shards, min(args.stride, context))
        print(f"| {run.name} | {context} | {whole:.4f} | {strided:.4f} |")
        recorded = run / "result.json"
        if recorded.exists():
            print(f"  (compare_recipes recorded {json.loads(recorded.read_text())['bits_per_byte']:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
