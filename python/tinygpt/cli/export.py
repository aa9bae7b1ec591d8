"""`tinygpt export RUN --out DIR`: a run as a transformers GPT-2 or GPT-NeoX (rotary models) directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinygpt.cli.arguments import add_checkpoint_flag


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a run as a transformers GPT-2 or GPT-NeoX (rotary models) directory",
        description="Write a `tinygpt train` run as a directory that transformers' "
        "AutoModelForCausalLM.from_pretrained and AutoTokenizer.from_pretrained load with no custom "
        "code: config.json, model.safetensors, generation_config.json, tokenizer.json (+ "
        "tokenizer_config.json, special_tokens_map.json) and a README.md model card. A model with "
        "learned positions is a GPT-2, one with rotary positions (budget mode's) a GPT-NeoX.",
    )
    parser.add_argument("run", metavar="RUN", help="run directory")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="directory to create (must not exist, or be empty)"
    )
    add_checkpoint_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Lazy: this pulls in torch, which would slow every command's start-up (see cli/__init__).
    from tinygpt.run.export import export_run

    exported = export_run(args.run, args.out, checkpoint=args.checkpoint)
    print(f"exported {exported.checkpoint} to {exported.directory}: {', '.join(exported.files)}")
    return 0
