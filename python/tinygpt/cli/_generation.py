"""What `tinygpt generate` and `tinygpt repl` share: loading a run and the sampling flags."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tinygpt.cli.arguments import SEED, TOKEN_COUNT, add_checkpoint_flag
from tinygpt.cli.corpus_flags import add_on_unknown_flag
from tinygpt.errors import ConfigError
from tinygpt.hf.architectures import architecture_of
from tinygpt.hf.source import hf_directory, is_hf_model
from tinygpt.run.layout import resolve_checkpoint

if TYPE_CHECKING:
    import torch

    from tinygpt.model.config import GPTConfig
    from tinygpt.model.decoding import TokenSampler
    from tinygpt.model.gpt import GPT
    from tinygpt.tokenizer.bpe import BPETokenizer


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run",
        metavar="MODEL",
        help="run directory written by `tinygpt train` or `quickstart`, a transformers "
        "GPT-2 or GPT-NeoX directory (save_pretrained) or hf:owner/name",
    )
    add_checkpoint_flag(parser)
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N|mps (default auto)")
    add_on_unknown_flag(parser)
    parser.add_argument(
        "--threads",
        default="auto",
        metavar="N|auto",
        help="CPU threads per token (default auto: 1, the fastest measured for small and GPT-2-sized models alike)",
    )


def add_sampling_arguments(parser: argparse.ArgumentParser, *, token_count: int) -> None:
    parser.add_argument(
        "--token-count",
        type=TOKEN_COUNT,
        default=token_count,
        help=f"maximum number of new tokens (default {token_count})",
    )
    parser.add_argument("--temperature", type=float, default=0.7, help="softmax temperature (default 0.7)")
    parser.add_argument("--top-k", type=int, default=None, help="sample among the K most likely tokens")
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling: smallest set with mass P")
    parser.add_argument("--greedy", action="store_true", help="always take the most likely token")
    parser.add_argument("--seed", type=SEED, default=None, help="seed for reproducible samples")
    parser.add_argument(
        "--stop",
        action="append",
        default=[],
        metavar="TEXT",
        help="stop when TEXT is generated (repeatable); end-of-text always stops",
    )


def sampler_from_args(args: argparse.Namespace) -> TokenSampler:
    # Lazy: this pulls in torch, which would slow every command's start-up (see cli/__init__).
    from tinygpt.model.decoding import TokenSampler

    return TokenSampler(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, greedy=args.greedy)


def seeded_generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    """A generator for ``seed`` on the model's device, or None to use torch's global one."""
    if seed is None:
        return None
    # Lazy: this pulls in torch, which would slow every command's start-up (see cli/__init__).
    import torch

    return torch.Generator(device=device).manual_seed(seed)


def set_cpu_threads(spec: str) -> None:
    """Intra-op threads for sampling on the CPU; "auto" is one thread, for models of every size.

    A small model's token is a few hundred small kernels: threads waiting for each other on a
    busy machine made a 2.1 M model 15x slower (230 vs 15 tokens/s). A large model's token is
    bound by reading its weights, which the decoding layout streams through tinygpt._matvec on
    one thread: a 12-layer GPT-2 shape decoded 55.5 tokens/s on one thread and 8.8 on two
    (torch's product over the transposed layout; 2-core AVX512 machine, greedy, 64 tokens).
    """
    # Lazy: this pulls in torch, which would slow every command's start-up (see cli/__init__).
    import torch

    if spec == "auto":
        torch.set_num_threads(1)
        return
    try:
        threads = int(spec)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ConfigError(f"--threads must be a positive integer or auto, got {spec!r}")
    torch.set_num_threads(threads)


def load_model(args: argparse.Namespace) -> tuple[GPT, BPETokenizer]:
    """``load_run`` plus a line on stderr saying what was loaded and its parameter count."""
    # Lazy: this pulls in torch, which would slow every command's start-up (see cli/__init__).
    import torch

    from tinygpt.run import load_run

    model, tokenizer = load_run(args.run, checkpoint=args.checkpoint, device=args.device)
    device = next(model.parameters()).device
    if device.type == "cpu":
        set_cpu_threads(args.threads)
        model.use_decoding_layout()
    where = f"{device}, {torch.get_num_threads()} thread(s)" if device.type == "cpu" else str(device)
    print(
        f"loaded {model_label(args.run, args.checkpoint, model.config)}: {model.num_parameters():,} parameters, "
        f"context {model.config.context_length}, vocabulary {tokenizer.vocab_size}, on {where}",
        file=sys.stderr,
    )
    return model, tokenizer


def model_label(model: str, checkpoint: str, config: GPTConfig) -> str:
    """What was loaded: the checkpoint directory of a run, or the transformers model (its
    architecture, from the loaded ``config``) and its files."""
    if is_hf_model(model):
        directory = hf_directory(model)
        where = "" if str(directory) == model else f" from {directory}"
        return f"{model} (transformers {architecture_of(config).name}{where})"
    return str(resolve_checkpoint(model, checkpoint))


def check_prompt(text: str) -> str:
    if not text:
        raise ConfigError("the prompt is empty: give at least one character to continue from")
    return text


def encode_prompt(tokenizer: BPETokenizer, text: str, on_unknown: str = "error") -> list[int]:
    """User text as token ids; special-token names in it stay plain text (never control tokens)."""
    return tokenizer.encode(check_prompt(text), on_unknown=on_unknown)
