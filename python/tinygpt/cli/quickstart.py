"""``tinygpt quickstart``: the whole pipeline on the embedded stories, offline, in minutes.

Embedded stories -> tokenizer -> shards -> model -> a story. Sized so the whole run fits in about
four minutes on two CPU cores: a small vocabulary for a ~100 KB corpus, and `tinygpt train`'s
budget mode (the recipe and a schedule planned for the time) rather than a step count.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from tinygpt.cli.arguments import SECONDS, SEED, THREADS
from tinygpt.data.manifest import read_manifest
from tinygpt.data.sources import embedded_corpus_path
from tinygpt.data.tokenize import tokenize_corpus
from tinygpt.errors import ConfigError
from tinygpt.tokenizer.bpe import BPETokenizer
from tinygpt.train.recipe import Recipe, measure_training_flops, plan_recipe


@dataclass(frozen=True)
class QuickstartPlan:
    """What quickstart builds, and where."""

    out: Path = Path("tinygpt-quickstart")
    train_seconds: float = 150.0
    vocab_size: int = 512
    device: str = "cpu"
    seed: int = 0
    prompt: str = "Once upon a time"
    token_count: int = 200
    threads: int = 1

    def recipe(self, flops_per_second: float, training_tokens: int) -> Recipe:
        """Budget mode's recipe for ``train_seconds`` on ``training_tokens``: ~100 KB of stories
        are read dozens of times over in that time, so the recipe's rule adds dropout."""
        return plan_recipe(
            self.train_seconds,
            vocab_size=self.vocab_size,
            device=self.device,
            flops_per_second=flops_per_second,
            training_tokens=training_tokens,
            threads=self.threads,
        )


def run_quickstart(plan: QuickstartPlan, console: Console) -> str:
    """Run every stage into ``plan.out`` and return the generated story."""
    # Imported here, not at the top: every sub-command module is imported to build the parser,
    # and torch alone would add over a second to `tinygpt --help`.
    import torch

    from tinygpt.cli.display import TrainingDisplay
    from tinygpt.generate import generate_texts
    from tinygpt.model.decoding import TokenSampler
    from tinygpt.run.load import load_run
    from tinygpt.train import train

    if plan.threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {plan.threads}")
    torch.set_num_threads(plan.threads)
    corpus = embedded_corpus_path()
    plan.out.mkdir(parents=True, exist_ok=True)

    console.rule(f"1/4 tokenizer: bytes-level BPE, {plan.vocab_size} tokens")
    tokenizer = BPETokenizer.train(corpus, plan.vocab_size, mode="bytes")
    tokenizer.save(plan.out / "tokenizer.ron")

    console.rule("2/4 shards")
    shards = plan.out / "shards"
    tokenize_corpus(corpus, tokenizer, shards, val_fraction=0.1)

    console.rule(f"3/4 model: training for {plan.train_seconds:.0f} s on {plan.device}")
    run_dir = plan.out / "run"
    recipe = plan.recipe(measure_training_flops(plan.device), read_manifest(shards).split("train").tokens)
    summary = train(
        shards,
        run_dir,
        recipe.model,
        recipe.train,
        device=plan.device,
        seed=plan.seed,
        time_plan=recipe.plan,
        report=TrainingDisplay,
    )
    console.print(
        f"{summary.steps} steps, {summary.tokens_per_second:,.0f} tokens/s, held-out loss {summary.val_loss:.3f}"
        if summary.val_loss is not None
        else f"{summary.steps} steps, {summary.tokens_per_second:,.0f} tokens/s"
    )

    console.rule("4/4 story")
    model, tokenizer = load_run(run_dir, checkpoint="best", device=plan.device)
    generator = torch.Generator(device=next(model.parameters()).device).manual_seed(plan.seed)
    prompt_ids = tokenizer.encode(plan.prompt)
    (continuation,) = generate_texts(
        model, tokenizer, [prompt_ids], plan.token_count, TokenSampler(temperature=0.7), generator=generator
    )
    return plan.prompt + continuation


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
    parser.add_argument(
        "--out", type=Path, default=Path("tinygpt-quickstart"), help="run directory to create (default: %(default)s)"
    )
    parser.add_argument(
        "--train-seconds",
        type=SECONDS,
        default=defaults.train_seconds,
        help="time budget for model training (default: %(default)s)",
    )
    parser.add_argument(
        "--vocab-size", type=int, default=defaults.vocab_size, help="tokenizer vocabulary size (default: %(default)s)"
    )
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--threads",
        type=THREADS,
        default=defaults.threads,
        help="torch CPU threads (default: %(default)s; a model this small gains "
        "little from more, and loses much when the cores are busy)",
    )
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
