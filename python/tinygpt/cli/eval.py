"""`tinygpt eval RUN --data SRC`: held-out loss per token and bits per byte of SRC's text."""

from __future__ import annotations

import argparse
import json

from tinygpt.cli.arguments import add_checkpoint_flag
from tinygpt.cli.corpus_flags import add_format_flag, add_on_unknown_flag
from tinygpt.hf.source import is_hf_model
from tinygpt.run.layout import RunLayout
from tinygpt.train.config import TrainConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="held-out loss and bits per byte of a trained run",
        description="Evaluate a `tinygpt train` run on SRC: a `tinygpt tokenize` directory (its "
        "held-out split; the shards must come from the run's tokenizer) or a corpus (.txt, "
        ".parquet, .jsonl, a directory, hf:owner/name), tokenized with the run's tokenizer. "
        "Every token is predicted exactly once; bits per byte divide the total loss by the "
        "UTF-8 size of the text, so runs with different tokenizers compare.",
    )
    parser.add_argument(
        "run", metavar="MODEL", help="run directory, transformers GPT-2 or GPT-NeoX directory or hf:owner/name"
    )
    parser.add_argument("--data", metavar="SRC", required=True, help="shard directory or corpus")
    add_checkpoint_flag(parser)
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N|mps")
    parser.add_argument("--batch-size", type=int, default=32, help="windows per forward pass")
    parser.add_argument("--text-column", help="parquet column / jsonl field of the text")
    add_format_flag(parser)
    add_on_unknown_flag(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every sub-command module is imported to build the parser,
    # and this one pulls in torch (seconds).
    from tinygpt.evaluate import evaluate_run

    # A transformers model has no train config; the loader's default rule sweeps the shards.
    trained_here = not is_hf_model(args.run)
    sampling = (TrainConfig.load(RunLayout.of(args.run).train_config) if trained_here else TrainConfig()).sampling
    result = evaluate_run(
        args.run,
        args.data,
        checkpoint=args.checkpoint,
        device=args.device,
        batch_size=args.batch_size,
        text_column=args.text_column,
        sampling=sampling,
        on_unknown=args.on_unknown,
        format=args.format,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"held-out loss  {result.loss:.4f} nats per token over {result.tokens:,} tokens")
    if result.bits_per_byte is not None:
        scored = " scored" if result.unknown is not None and result.unknown.characters else ""
        print(f"bits per byte  {result.bits_per_byte:.4f} ({result.text_bytes:,} bytes of text{scored})")
    if result.unknown is not None and result.unknown.characters:
        print(f"unknown        {result.unknown.describe()}; bits per byte are over the bytes scored")
    return 0
