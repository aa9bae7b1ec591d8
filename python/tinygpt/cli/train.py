"""`tinygpt train`: train a GPT on token shards into a run directory, or resume one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tinygpt.cli.arguments import SECONDS, SEED, THREADS
from tinygpt.cli.config_flags import add_config_flags, config_overrides
from tinygpt.data.manifest import read_manifest
from tinygpt.errors import ConfigError
from tinygpt.model.config import GPTConfig
from tinygpt.run.layout import RunLayout
from tinygpt.train.config import TrainConfig

if TYPE_CHECKING:
    import torch

    from tinygpt.train.distributed import DistContext
    from tinygpt.train.loop import TrainSummary

MODEL_PREFIX = "model_"
TRAIN_PREFIX = "train_"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model on token shards (or resume a run)",
        description="Train a GPT on the shards of `tinygpt tokenize` into a new run directory, "
        "or continue one with --resume. Config files use gpt-rs's RON (or JSON); every field "
        "can also be set, or overridden, with its flag. Under `torchrun --nproc_per_node N -m "
        "tinygpt train ...` it trains with DistributedDataParallel. Budget mode: with "
        "--max-seconds S and no config file, tinygpt picks the recipe for S seconds on this "
        "device and data (model size from a short speed probe, capped by the data's size; a "
        "head tied to the token embedding; rotary positions and blocks that start as the "
        "identity; windows of 256 tokens, so a story fits one; weight decay 0.3 once the run "
        "will read its data more than once, and dropout 0.2 with windows of 64 once it will read "
        "it twenty times or more; Muon for the blocks' matrices and AdamW for the rest; batches "
        "of 1,024 tokens on a CPU and 16 windows on an accelerator; warm-up then a decay to "
        "zero that ends exactly at the budget; evaluations, checkpoints and the final held-out score all fit inside S; the last "
        "checkpoint is the best); flags still override it.",
    )
    parser.add_argument("--data", metavar="SHARDS", help="a `tinygpt tokenize` output directory")
    parser.add_argument("--out", metavar="RUN", help="new run directory to create")
    parser.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint")
    parser.add_argument("--transformer-config", metavar="X.ron", help="model config (.ron/.json)")
    parser.add_argument("--train-config", metavar="Y.ron", help="training config (.ron/.json)")
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N|mps (default auto)")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16"),
        help="bf16 autocast where supported with auto (default auto)",
    )
    parser.add_argument("--seed", type=SEED, default=0, help="random seed (default 0)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument(
        "--threads", type=THREADS, help="torch CPU threads (default: torch's; budget mode: the idle cores)"
    )
    parser.add_argument(
        "--max-seconds",
        type=SECONDS,
        help="time budget: without config files, plan the whole recipe for it; with them, stop cleanly after this long",
    )
    parser.add_argument("--no-progress", action="store_true", help="no live display")
    add_config_flags(parser, GPTConfig, "transformer config fields", prefix=MODEL_PREFIX)
    add_config_flags(parser, TrainConfig, "train config fields", prefix=TRAIN_PREFIX)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Lazy: this pulls in torch, which would slow every command's start-up (see cli/__init__).
    import torch

    from tinygpt.cli.display import TrainingDisplay
    from tinygpt.train import resume, train
    from tinygpt.train.distributed import context_from_environment

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    options = dict(
        device=args.device,
        precision=args.precision,
        compile=args.compile,
        show_progress=not args.no_progress,
        report=TrainingDisplay,
        max_seconds=args.max_seconds,
    )
    if args.resume:
        summary = resume(args.resume, data_dir=args.data, train_config=_resumed_config(args), **options)
    else:
        if not args.data or not args.out:
            raise ConfigError("--data SHARDS and --out RUN are required (or --resume RUN)")
        if args.max_seconds is not None and not (args.transformer_config or args.train_config):
            summary = _train_on_budget(args, options)
        else:
            summary = train(args.data, args.out, _model_config(args), _train_config(args), seed=args.seed, **options)
    if context_from_environment().is_main:
        _report(summary)
    return 130 if summary.interrupted else 0


def _train_on_budget(args: argparse.Namespace, options: dict[str, Any]) -> TrainSummary:
    """Budget mode: the recipe for --max-seconds, flags applied on top of it."""
    # Lazy: this pulls in torch, which would slow every command's start-up (see cli/__init__).
    import torch

    from tinygpt.train import train
    from tinygpt.train.distributed import context_from_environment
    from tinygpt.train.recipe import measure_training_flops, plan_recipe, time_plan

    context = context_from_environment()
    device = context.device(args.device)
    manifest = read_manifest(args.data)
    recipe = plan_recipe(
        args.max_seconds,
        vocab_size=manifest.vocab_size,
        device=device.type,
        flops_per_second=agreed_training_flops(context, device, measure_training_flops),
        training_tokens=manifest.split("train").tokens,
        threads=args.threads,
    )
    if args.threads is None and recipe.threads is not None:
        torch.set_num_threads(recipe.threads)
    model = GPTConfig.from_dict(
        {**recipe.model.to_dict(), **config_overrides(args, GPTConfig, prefix=MODEL_PREFIX)},
        source="transformer config",
    )
    batch = {"contexts_per_batch": recipe.contexts_per_batch_for(model.context_length)}
    train_config = recipe.train.replace(**{**batch, **config_overrides(args, type(recipe.train), prefix=TRAIN_PREFIX)})
    return train(
        args.data,
        args.out,
        model,
        train_config,
        seed=args.seed,
        time_plan=time_plan(args.max_seconds, train_config),
        **{**options, "max_seconds": None},
    )


def agreed_training_flops(context: DistContext, device: torch.device, probe: Callable[[torch.device], float]) -> float:
    """The speed probe of rank 0, on every rank: under torchrun each rank would otherwise probe
    its own device, and a probe that lands near a step of the shape ladder could give the ranks
    different models. Joins the process group early for it (training keeps the group)."""
    context.start(device)
    return context.from_main(probe(device) if context.is_main else 0.0, device)


def _model_config(args: argparse.Namespace) -> GPTConfig:
    overrides = config_overrides(args, GPTConfig, prefix=MODEL_PREFIX)
    if args.transformer_config:
        base = GPTConfig.load(args.transformer_config).to_dict()
    else:
        # Without a config file the vocabulary follows the tokenizer of the shards.
        base = {**GPTConfig().to_dict(), "vocab_size": read_manifest(args.data).vocab_size}
    return GPTConfig.from_dict({**base, **overrides}, source="transformer config")


def _train_config(args: argparse.Namespace) -> TrainConfig:
    overrides = config_overrides(args, TrainConfig, prefix=TRAIN_PREFIX)
    if args.train_config:
        return TrainConfig.load(args.train_config).replace(**overrides)
    return TrainConfig.from_dict(overrides, source="train config flags")


def _resumed_config(args: argparse.Namespace) -> TrainConfig | None:
    """A resumed run keeps its model; training fields may change (e.g. more iterations)."""
    if args.out or args.transformer_config or config_overrides(args, GPTConfig, prefix=MODEL_PREFIX):
        raise ConfigError("--resume continues a run as it is: drop --out and the model flags")
    overrides = config_overrides(args, TrainConfig, prefix=TRAIN_PREFIX)
    if args.train_config:
        return TrainConfig.load(args.train_config).replace(**overrides)
    if not overrides:
        return None
    return TrainConfig.load(RunLayout.of(args.resume).train_config).replace(**overrides)


def _report(summary: TrainSummary) -> None:
    lines = [
        f"run {summary.run_dir}: {summary.steps} steps, {summary.tokens_seen:,} tokens, "
        f"{summary.tokens_per_second:,.0f} tokens/s"
    ]
    if summary.val_loss is not None:
        lines.append(f"last held-out estimate {summary.val_loss:.4f}")
    if summary.held_out is not None:
        bits = summary.held_out.bits_per_byte
        lines.append(
            f"held-out loss {summary.held_out.loss:.4f} per token"
            + ("" if bits is None else f", {bits:.4f} bits per byte")
        )
    lines.append(f"checkpoints: best {summary.best_checkpoint}, last {summary.last_checkpoint}")
    if summary.interrupted:
        lines.append(f"interrupted; continue with `tinygpt train --resume {summary.run_dir}`")
    print("\n".join(lines), file=sys.stderr if summary.interrupted else sys.stdout)
