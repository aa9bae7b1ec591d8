"""``tinygpt tokenize``: a corpus into token shards that ``tinygpt train`` reads."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinygpt.cli.arguments import THREADS
from tinygpt.cli.corpus_flags import add_format_flag, add_on_unknown_flag
from tinygpt.data.manifest import MANIFEST_NAME, TOKENIZER_NAME, write_merged_manifest
from tinygpt.data.split_rule import SPLIT_RULES
from tinygpt.data.tokenize import DEFAULT_SHARD_TOKENS, tokenize_corpus
from tinygpt.errors import ConfigError
from tinygpt.tokenizer.bpe import BPETokenizer

_DESCRIPTION = """\
Encode a corpus into llm.c-format token shards (OUT/train_*.bin, OUT/val_*.bin) with
OUT/manifest.json and OUT/tokenizer.ron, so that OUT alone is enough to train from.
Interrupted runs resume when re-run with the same arguments. Large corpora can be spread over
machines with --part I/N (0 <= I < N, each part into the same OUT); the loader reads the
complete parts as one, and --merge writes their merged manifest.json."""

_EXAMPLES = """\
examples:
  tinygpt tokenize --data stories.parquet --tokenizer tok.ron --out shards
  tinygpt tokenize --data stories.parquet --vocab-size 2048 --mode words --out shards
  for i in 0 1 2 3; do tinygpt tokenize --data corpus/ --tokenizer tok.ron --out shards --part $i/4; done
  tinygpt tokenize --merge --out shards"""


def _part(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    try:
        part = int(index), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/4, got {text!r}") from None
    if not 0 <= part[0] < part[1]:
        raise argparse.ArgumentTypeError(f"expected 0 <= I < N, got {text!r}")
    return part


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tokenize",
        help="encode a corpus into token shards for training",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data", metavar="SRC", help="corpus: .parquet, .txt, .jsonl, a directory of them, hf:owner/name or 'embedded'"
    )
    tokenizer = parser.add_mutually_exclusive_group()
    tokenizer.add_argument(
        "--tokenizer",
        type=Path,
        metavar="TOK",
        help="tokenizer to encode with: tinygpt's .ron, or a byte-level BPE tokenizer.json "
        "(Hugging Face's format, e.g. GPT-2's)",
    )
    tokenizer.add_argument(
        "--vocab-size",
        type=int,
        metavar="N",
        help="train a tokenizer of N tokens on SRC first (saved as OUT/tokenizer.ron)",
    )
    parser.add_argument(
        "--mode",
        choices=("bytes", "words"),
        default="bytes",
        help="tokenizer mode when training (default: bytes; words = gpt-rs's)",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="OUT", help="output directory")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        metavar="F",
        help="fraction of documents held out for evaluation (default: 0.1)",
    )
    parser.add_argument(
        "--split",
        choices=SPLIT_RULES,
        default="tail",
        help="tail: hold out the last documents, like gpt-rs (default); hash: by text hash",
    )
    parser.add_argument(
        "--shard-tokens",
        type=int,
        default=DEFAULT_SHARD_TOKENS,
        metavar="N",
        help=f"tokens per shard at most (default: {DEFAULT_SHARD_TOKENS:,})",
    )
    parser.add_argument("--part", type=_part, metavar="I/N", help="tokenize only the I-th of N slices of SRC")
    parser.add_argument("--text-column", metavar="NAME", help="parquet column / jsonl field holding the text")
    add_format_flag(parser)
    add_on_unknown_flag(parser)
    parser.add_argument(
        "--byte-fallback",
        action="store_true",
        help="words mode, when training: characters outside the alphabet become byte tokens",
    )
    parser.add_argument("--threads", type=THREADS, metavar="N", help="encoding threads (default: all cores)")
    parser.add_argument("--merge", action="store_true", help="merge OUT's part manifests into OUT/manifest.json")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.merge:
        manifest = write_merged_manifest(args.out)
        splits = ", ".join(
            f"{name}: {info.documents:,} documents, {info.tokens:,} tokens" for name, info in manifest.splits.items()
        )
        print(f"{args.out / manifest.file_name}: merged {manifest.job.get('part') or 'all'} parts ({splits})")
        return 0
    if args.data is None:
        raise ConfigError("--data SRC is required (unless --merge)")
    if args.tokenizer is None and args.vocab_size is None:
        raise ConfigError("pass --tokenizer TOK.ron, or --vocab-size N to train one first")
    tokenizer = _given_tokenizer(args.tokenizer) if args.tokenizer is not None else _trained_tokenizer(args)
    summary = tokenize_corpus(
        args.data,
        tokenizer,
        args.out,
        val_fraction=args.val_fraction,
        split=args.split,
        shard_tokens=args.shard_tokens,
        part=args.part,
        text_column=args.text_column,
        num_threads=args.threads,
        show_progress=not args.no_progress,
        format=args.format,
        on_unknown=args.on_unknown,
    )
    print(summary.report())
    return 0


def _given_tokenizer(path: Path) -> BPETokenizer | Path:
    """A ``.ron`` tokenizer stays a path (the shard writer reads it); a ``tokenizer.json`` is converted."""
    return BPETokenizer.from_hf_json(path) if path.suffix == ".json" else path


def _trained_tokenizer(args: argparse.Namespace) -> BPETokenizer:
    """Train on SRC, or reuse OUT/tokenizer.ron when an interrupted run already trained it."""
    if args.part is not None:
        raise ConfigError(
            "--vocab-size cannot be combined with --part: every part must encode with the same "
            "tokenizer, so train it once (without --part) and pass it with --tokenizer"
        )
    saved = args.out / TOKENIZER_NAME
    if saved.is_file() and (args.out / MANIFEST_NAME).is_file():
        tokenizer = BPETokenizer.load(saved)
        if (tokenizer.vocab_size, tokenizer.mode, tokenizer.byte_fallback) == (
            args.vocab_size,
            args.mode,
            args.byte_fallback,
        ):
            print(f"resuming with the tokenizer trained earlier: {saved}", file=sys.stderr)
            return tokenizer
    tokenizer = BPETokenizer.train(
        args.data,
        args.vocab_size,
        mode=args.mode,
        num_threads=args.threads,
        text_column=args.text_column,
        show_progress=not args.no_progress,
        byte_fallback=args.byte_fallback,
        format=args.format,
    )
    if tokenizer.vocab_size < args.vocab_size:
        print(
            f"note: {args.data} runs out of pairs to merge at {tokenizer.vocab_size:,} tokens, so "
            f"the tokenizer has {tokenizer.vocab_size:,}, not --vocab-size {args.vocab_size:,}",
            file=sys.stderr,
        )
    return tokenizer
