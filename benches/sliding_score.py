"""Held-out bits per byte with overlapping windows: a check on compare_recipes' one evaluator.

That evaluator sweeps each held-out story in windows of the model's own context, so a model
with 64 positions starts from nothing every 64 tokens, while one with 256 sees most stories
whole. Here windows advance by ``stride`` tokens and score only the targets no earlier window
scored (``tinygpt.evaluate.document_windows`` with a stride), so every target has
``context - stride`` tokens or more of its story before it, or all of them. The targets and
bytes are the same as the evaluator's (stride = context reproduces it exactly), so the two
numbers show how much of a margin comes from the restarts and how much from the longer window.

    python benches/sliding_score.py --shards SHARDS --stride 16 RUN_OR_NANOGPT_DIR ...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from tinygpt.data import read_manifest
from tinygpt.data.shards import HEADER_BYTES, token_dtype
from tinygpt.evaluate import document_windows, held_out_loss

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


def strided_bits_per_byte(model: torch.nn.Module, context: int, shards: Path, stride: int) -> float:
    """Bits per byte of the held-out text, every target scored once with windows ``stride`` apart."""
    windows = document_windows(held_out_documents(shards), context, BATCH_ROWS, stride)
    text_bytes = read_manifest(shards).split("val").text_bytes
    result = held_out_loss(model.float(), windows, torch.device("cpu"), text_bytes=text_bytes)
    return result.bits_per_byte or 0.0


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
