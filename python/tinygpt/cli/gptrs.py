"""``tinygpt gptrs import|export``: move tokenizers and tokenized stories to and from gpt-rs."""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Iterable, Iterator

from tinygpt.atomic import atomic_write_text
from tinygpt.data.sources import open_corpus
from tinygpt.data.tokenize import tokenize_corpus
from tinygpt.errors import DataError
from tinygpt.gptrs.dataset import export_gptrs_dataset, import_gptrs_dataset
from tinygpt.progress import TokenizeProgress
from tinygpt.tokenizer.bpe import BPETokenizer

EOT = "<|endoftext|>"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gptrs",
        help="import or export gpt-rs dataset files (dataset_*.ron)",
        description="Convert between gpt-rs dataset files (its tokenizer plus tokenized stories, "
        "in RON) and tinygpt's tokenizer.ron + token shards.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    importer = actions.add_parser(
        "import",
        help="gpt-rs dataset file -> tokenizer.ron + train/val shards",
        description="Write OUT/tokenizer.ron (gpt-rs's ids, plus <|endoftext|> as the last id) and "
        "token shards of the file's stories, ready for `tinygpt train --data OUT`. The last "
        "10% of stories are held out, as gpt-rs does.",
    )
    importer.add_argument("dataset", type=Path, help="a gpt-rs dataset_*.ron file")
    importer.add_argument("--out", type=Path, required=True, help="output directory")
    importer.add_argument("--val-fraction", type=float, default=0.1, help="held-out share of stories (default 0.1)")
    importer.add_argument("--no-progress", action="store_true", help="no progress bar")
    importer.set_defaults(func=run_import)

    exporter = actions.add_parser(
        "export",
        help="tokenizer.ron + corpus -> gpt-rs dataset file",
        description="Encode the stories of --data with a words-mode tokenizer and write them, with "
        "the tokenizer, as a dataset file gpt-rs reads.",
    )
    exporter.add_argument("tokenizer", type=Path, help="a words-mode tokenizer.ron")
    exporter.add_argument(
        "--data", required=True, help="corpus: .parquet, .txt, .jsonl, a directory, hf:owner/name or embedded"
    )
    exporter.add_argument("--text-column", help="parquet column / jsonl field holding the text")
    exporter.add_argument("--max-stories", type=int, help="export only the first N stories")
    exporter.add_argument("--out", type=Path, required=True, help="dataset file to write (.ron)")
    exporter.add_argument("--no-progress", action="store_true", help="no progress bar")
    exporter.set_defaults(func=run_export)


def run_import(args: argparse.Namespace) -> int:
    tokenizer, stories = import_gptrs_dataset(args.dataset, special_tokens=(EOT,))
    texts = [tokenizer.decode(story) for story in stories]
    _check_reencoding(tokenizer, texts, stories, args.dataset)
    # tokenize_corpus reads files; the decoded stories go to a fixed path inside OUT so that
    # re-running the same import resumes (or finds the job done) instead of clashing.
    scratch = args.out / f".{args.dataset.name}.stories.jsonl"
    atomic_write_text(scratch, "".join(json.dumps({"text": text}) + "\n" for text in texts))
    try:
        summary = tokenize_corpus(
            scratch, tokenizer, args.out, val_fraction=args.val_fraction, show_progress=not args.no_progress
        )
    finally:
        scratch.unlink(missing_ok=True)
    print(
        f"imported {len(stories):,} stories from {args.dataset}: vocabulary {tokenizer.vocab_size:,} "
        f"(gpt-rs's {tokenizer.vocab_size - 1:,} ids + {EOT} = {tokenizer.eot_id})"
    )
    print(summary.report())
    return 0


def _check_reencoding(tokenizer: BPETokenizer, texts: list[str], stories: list[list[int]], path: Path) -> None:
    """Shards are written by re-encoding the text: make sure that gives the file's very ids."""
    for number, (encoded, original) in enumerate(zip(tokenizer.encode_batch(texts), stories)):
        if encoded != original:
            raise DataError(
                f"{path}: story {number} re-encodes to different ids than the file holds "
                "(the file was not made by gpt-rs's merge order); refusing to write shards that differ"
            )


def run_export(args: argparse.Namespace) -> int:
    if args.max_stories is not None and args.max_stories < 1:
        raise DataError(f"--max-stories must be at least 1, got {args.max_stories}")
    tokenizer = BPETokenizer.load(args.tokenizer)
    corpus = open_corpus(args.data, text_column=args.text_column)
    with TokenizeProgress(enabled=not args.no_progress) as progress:
        progress.start("encoding stories", args.max_stories)
        stories = _CountedStories(itertools.islice(corpus, args.max_stories), progress)
        count = export_gptrs_dataset(tokenizer, stories, args.out)
    # gpt-rs gets an empty story as [], as it encodes one itself; say how many there were.
    empty = f" ({stories.empty:,} of them empty)" if stories.empty else ""
    print(
        f"wrote {count:,} stories{empty} and a {tokenizer.vocab_size - len(tokenizer.special_tokens):,}-token "
        f"vocabulary to {args.out}"
    )
    return 0


class _CountedStories:
    """The stories passed through, advancing the bar by each one read and counting empty ones."""

    def __init__(self, stories: Iterable[str], progress: TokenizeProgress) -> None:
        self.stories, self.progress, self.empty = stories, progress, 0

    def __iter__(self) -> Iterator[str]:
        for story in self.stories:
            self.empty += not story
            self.progress.advance(1, len(story.encode("utf-8")))
            yield story
