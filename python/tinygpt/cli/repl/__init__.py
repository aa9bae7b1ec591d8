"""`tinygpt repl RUN`: talk to a trained model in the terminal (or pipe prompts through it)."""

from __future__ import annotations

import argparse

from tinygpt.cli._generation import (
    add_run_arguments,
    add_sampling_arguments,
    load_model,
    model_label,
    sampler_from_args,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "repl",
        help="interactive prompt: type a start, watch the model continue it",
        description="Interactive session with a model from a run directory, a transformers GPT-2 or "
        "GPT-NeoX directory or hf:owner/name; /help lists the commands. "
        "With stdin piped, each line is a prompt (or /command) and the output is plain text.",
    )
    add_run_arguments(parser)
    add_sampling_arguments(parser, token_count=200)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Lazy: this pulls in torch, which would slow every command's start-up (see cli/__init__).
    from tinygpt.cli.repl.commands import Settings
    from tinygpt.cli.repl.session import start

    settings = Settings(sampler=sampler_from_args(args), max_new_tokens=args.token_count, seed=args.seed)
    model, tokenizer = load_model(args)
    start(
        model,
        tokenizer,
        settings=settings,
        stop=args.stop,
        on_unknown=args.on_unknown,
        description=f"tinygpt repl {model_label(args.run, args.checkpoint, model.config)}",
    )
    return 0
