"""`tinygpt generate RUN --input "Once"`: continue a prompt, gpt-rs's flags included."""

from __future__ import annotations

import argparse
import sys

from tinygpt.cli._generation import (
    add_run_arguments,
    add_sampling_arguments,
    check_prompt,
    encode_prompt,
    load_model,
    sampler_from_args,
    seeded_generator,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="continue a prompt with a trained model",
        description="Continue one or more prompts with a model from a run directory, a transformers "
        "GPT-2 or GPT-NeoX directory or hf:owner/name. "
        "Several --input prompts are sampled as a batch.",
    )
    add_run_arguments(parser)
    parser.add_argument(
        "--input", action="append", required=True, metavar="TEXT", help="prompt to continue (repeat for several)"
    )
    add_sampling_arguments(parser, token_count=256)
    parser.add_argument("--stream", action="store_true", help="print text as it is sampled")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Lazy: this pulls in torch, which would slow every command's start-up (see cli/__init__).
    from tinygpt.generate import GenerationInterrupted, TextStream, generate_texts

    sampler = sampler_from_args(args)
    for text in args.input:
        check_prompt(text)
    model, tokenizer = load_model(args)
    prompts = [encode_prompt(tokenizer, text, args.on_unknown) for text in args.input]
    generator = seeded_generator(args.seed, next(model.parameters()).device)
    if args.stream:
        for text, ids in zip(args.input, prompts):
            sys.stdout.write(text)
            sys.stdout.flush()
            stream = TextStream(model, tokenizer, ids, args.token_count, sampler, generator=generator, stop=args.stop)
            for piece in stream:
                sys.stdout.write(piece)
                sys.stdout.flush()
            sys.stdout.write("\n")
        return 0
    status = 0
    try:
        texts = generate_texts(
            model, tokenizer, prompts, args.token_count, sampler, generator=generator, stop=args.stop
        )
    except GenerationInterrupted as interrupted:
        texts, status = interrupted.texts, 130
    print("\n\n".join(prompt + text for prompt, text in zip(args.input, texts)))
    return status
