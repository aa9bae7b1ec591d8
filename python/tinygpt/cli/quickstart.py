"""``tinygpt quickstart``: the whole pipeline on the embedded stories, offline, in minutes."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from tinygpt.cli.arguments import SECONDS, SEED, THREADS
from tinygpt.quickstart import QuickstartPlan, run_quickstart


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quickstart",
        help="train a tokenizer and a small model on the embedded stories, then tell a story",
        description=(
            "Run the whole pipeline on the stories shipped with tinygpt (no network): train a "
            "BPE tokenizer, tokenize into shards, train a small model on the CPU for a few "
            "minutes, and print a generated story with the commands to continue."
        ),
    )
    defaults = QuickstartPlan()
    parser.add_argument("--out", type=Path, default=Path("tinygpt-quickstart"),
                        help="run directory to create (default: %(default)s)")
    parser.add_argument("--train-seconds", type=SECONDS, default=defaults.train_seconds,
                        help="time budget for model training (default: %(default)s)")
    parser.add_argument("--vocab-size", type=int, default=defaults.vocab_size,
                        help="tokenizer vocabulary size (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=THREADS, default=defaults.threads,
                        help="torch CPU threads (default: %(default)s; a model this small gains "
                             "little from more, and loses much when the cores are busy)")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--prompt", default=defaults.prompt, help="start of the story to generate")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    plan = QuickstartPlan(
        out=args.out,
        train_seconds=args.train_seconds,
        vocab_size=args.vocab_size,
        device=args.device,
        seed=args.seed,
        prompt=args.prompt,
        threads=args.threads,
    )
    console = Console(stderr=True)
    started = time.perf_counter()
    story = run_quickstart(plan, console)
    out = Console()
    out.rule("a story from your model")
    out.print(story, style="green", highlight=False)
    out.rule()
    run_dir = plan.out / "run"
    out.print(f"Finished in {time.perf_counter() - started:.0f} s. Everything is in {plan.out}/.")
    out.print("Continue with:", highlight=False)
    for line in (
        f'tinygpt generate {run_dir} --input "Once upon a time" --token-count 256',
        f"tinygpt repl {run_dir}",
        f"tinygpt train --resume {run_dir}",
        "tinygpt tokenize --data hf:flpelerin/tinystories-10k --vocab-size 2048 --out shards",
        "tinygpt train --data shards --out run-tinystories",
    ):
        out.print(f"  {line}", style="bold cyan", highlight=False, soft_wrap=True)
    return 0
